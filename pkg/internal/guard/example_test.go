package guard_test

import (
	"context"
	"fmt"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

func Example() {
	g, err := guard.NewGuard(memstore.New(), guard.Config{KeyPrefix: "payments"})
	if err != nil {
		panic(err)
	}
	charge := func(context.Context) ([]byte, error) {
		fmt.Println("charging card")
		return []byte(`{"charged":250}`), nil
	}

	// The same event delivered twice: the charge happens once, and the
	// duplicate gets the stored result back.
	for range 2 {
		res, err := g.Do(context.Background(), "evt-1", []byte(`{"amount":250}`), charge)
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Outcome, string(res.Data))
	}
	// Output:
	// charging card
	// executed {"charged":250}
	// replayed {"charged":250}
}
