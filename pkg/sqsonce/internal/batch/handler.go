package batch

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
)

// SlotHandler processes one SQS record. It returns nil when the record's
// effect is done, an error to have the record delivered again, or a
// Permanent error for a record that will never succeed. It must honour ctx:
// it is cancelled when the invocation runs out of time. It may give its
// slot back early (Slot.Release), so another record starts while this one
// only waits (for example for a write batched with other records').
type SlotHandler func(ctx context.Context, msg events.SQSMessage, slot *Slot) error

// Slot is a running record's share of Config.Concurrency.
type Slot struct {
	inv  *invocation
	held atomic.Bool
}

// Release gives the slot back: the record no longer counts against
// Config.Concurrency. The processor releases it when the handler returns
// in any case; later calls do nothing.
func (s *Slot) Release() {
	if s.held.CompareAndSwap(true, false) {
		<-s.inv.slots
	}
}

// BatchHandler processes several records at once (see Processor.Run). It
// returns one error per record, in the order of msgs, each meaning what a
// SlotHandler's error means. It must honour ctx: it is cancelled when the
// invocation runs out of time, and records it could not finish must then
// get an error.
type BatchHandler func(ctx context.Context, msgs []events.SQSMessage) []error
