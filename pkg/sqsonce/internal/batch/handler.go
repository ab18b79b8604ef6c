package batch

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Handler processes one SQS record. It returns nil when the record's effect is
// done, an error to have the record delivered again, or a Permanent error for
// a record that will never succeed. It must honour ctx: it is cancelled when
// the invocation runs out of time.
type Handler func(ctx context.Context, msg events.SQSMessage) error

// SlotHandler processes one SQS record as a Handler does, and may give its
// slot back early: release ends the record's share of Config.Concurrency,
// so another record starts while this one only waits (for example for a
// write batched with other records'). The processor releases the slot when
// the handler returns in any case; release may be called more than once.
type SlotHandler func(ctx context.Context, msg events.SQSMessage, release func()) error

// BatchHandler processes several records at once (see NewBatch). It
// returns one error per record, in the order of msgs, each meaning what a
// Handler's error means. It must honour ctx: it is cancelled when the
// invocation runs out of time, and records it could not finish must then
// get an error.
type BatchHandler func(ctx context.Context, msgs []events.SQSMessage) []error

// JSONHandler processes one SQS record whose body has been decoded into T.
type JSONHandler[T any] func(ctx context.Context, msg events.SQSMessage, body T) error

// JSON adapts a JSONHandler to a Handler: it decodes each body with
// encoding/json into a new T and calls h. A body that does not decode is a
// Permanent error of class ClassDecode, and h is not called.
func JSON[T any](h JSONHandler[T]) Handler {
	return func(ctx context.Context, msg events.SQSMessage) error {
		var body T
		if err := json.Unmarshal([]byte(msg.Body), &body); err != nil {
			return Permanent(WithClass(fmt.Errorf("decode body of message %s: %w", msg.MessageId, err), ClassDecode))
		}
		return h(ctx, msg, body)
	}
}
