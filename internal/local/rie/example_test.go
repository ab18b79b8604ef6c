package rie_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sqsonce/sqsonce/internal/local/rie"
)

// Run a bootstrap under the emulator, invoke it, and tell a function error
// from a response. echoBootstrap is testdata/echo, built by TestMain.
func Example() {
	ctx := context.Background()
	em, err := rie.Start(ctx, rie.Config{
		Bootstrap:       echoBootstrap,
		FunctionTimeout: 30 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer em.Stop()

	out, err := em.Invoke(ctx, []byte(`{"hello":"world"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	var resp struct {
		Echo json.RawMessage `json:"echo"`
	}
	_ = json.Unmarshal(out, &resp)
	fmt.Println(string(resp.Echo))

	_, err = em.Invoke(ctx, []byte(`{"error":"insufficient funds"}`))
	var fe *rie.FunctionError
	if errors.As(err, &fe) {
		fmt.Println(fe.Type, fe.Message)
	}
	// Output:
	// {"hello":"world"}
	// errorString insufficient funds
}
