package esm

import (
	"context"
	"encoding/json"
	"fmt"
)

// Handler is an Invoker that runs a Lambda handler in process: the payload
// decoded as E, the response encoded as JSON, as the Lambda runtime does
// (for tests that need no bootstrap, such as a relay on a real stream).
func Handler[E, R any](h func(context.Context, E) (R, error)) Invoker {
	return InvokerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev E
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decode the event: %w", err)
		}
		resp, err := h(ctx, ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	})
}
