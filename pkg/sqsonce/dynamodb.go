package sqsonce

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// Effect is what one message does to DynamoDB, for NewDynamoDB, and the
// result it stores.
type Effect[R any] struct {
	// Writes apply the message. They commit in one transaction with the
	// message's idempotency record, or not at all. Build them with
	// dynamostore.Put, Update, Delete, Check and Add; Adds (counters) to one
	// item from many messages are merged, any other writes to one item go to
	// successive transactions in record order. Writes DynamoDB refuses
	// (dynamostore.ErrInvalidWrite: an item over 400 KB, more than a
	// transaction holds, two writes to one item, a ValidationError) fail
	// this message alone, permanently, with class ClassInvalidWrite.
	Writes []dynamostore.Write
	// Publish are the events the effect publishes (Config.Outbox is then
	// required): each is written as an outbox item in the transaction of
	// the writes, so it exists if and only if the effect committed, and is
	// sent by the outbox relay (package outbox). An event that can never be
	// published fails this message alone, permanently ([ClassInvalidPublish]).
	Publish []outbox.Event
	// Result is stored with the record (encoded with Config.Codec) and
	// replayed to duplicates.
	Result R
	// ConditionFailed judges a write whose own condition failed (Writes[write];
	// existing is the item as it is, or nil if it does not exist): nothing of
	// the message was written. Return ErrAlreadyApplied when existing shows
	// that this very effect was applied before (its idempotency record had
	// expired, or its key differs): the key is then completed and later
	// duplicates replay. Return a [Permanent] error for a conflict
	// (the DLQ), any other error to have the message retried. Default (nil):
	// a permanent failure of class ClassConditionFailed.
	ConditionFailed func(write int, existing map[string]types.AttributeValue) error
}

// ErrAlreadyApplied is what Effect.ConditionFailed returns when the item
// that blocked a write shows the effect was applied already.
var ErrAlreadyApplied = errors.New("sqsonce: effect already applied")

// DynamoDBFunc is the effect of one message, for NewDynamoDB: the writes
// that apply it. It should only compute them; they commit after it returns.
// An error fails the record; a [Permanent] error sends it to the DLQ.
// A panic fails only its own record (batch.OutcomePanicked).
type DynamoDBFunc[T, R any] func(ctx context.Context, body T) (Effect[R], error)

// NewDynamoDB returns a Handler whose effects are DynamoDB writes, applied
// once per idempotency key: each message's writes commit together with its
// COMPLETED idempotency record in one transaction, many messages per
// TransactWriteItems, without a separate claim. A new message costs a share
// of one request; a duplicate is replayed from the record that blocked it.
//
// Records are handed over in waves, one record per FIFO message group at a
// time (every record, on a standard queue), so a group's writes commit in
// order and a failed record stops its group. There is no lease: a worker
// that stalls cannot apply an effect another worker applied, because the
// record and the writes are one atomic step. A key held INPROGRESS by a
// live claim of another worker (a New handler on the same KeyPrefix) blocks
// the message; an expired claim is taken over.
func NewDynamoDB[T, R any](store *dynamostore.Store, msg Message[T], fn DynamoDBFunc[T, R], cfg Config, opts ...Option[R]) (*Handler[R], error) {
	if fn == nil {
		return nil, &ConfigError{"fn", "nil: give the function that returns a message's writes"}
	}
	if store == nil {
		return nil, &ConfigError{"store", "nil: give a dynamostore.Store"}
	}
	h, g, err := newHandler(store, msg, cfg, opts)
	if err != nil {
		return nil, err
	}
	h.run = func(ctx context.Context, ev events.SQSEvent, inv *invocation) (batch.Report, error) {
		return h.proc.Run(ctx, ev, nil, func(ctx context.Context, msgs []events.SQSMessage) []error {
			return h.traceWave(ctx, inv, msgs, func(ctx context.Context) []error {
				return h.commitWave(ctx, inv, g, msgs, func(ctx context.Context, body any) (Effect[R], error) { return fn(ctx, body.(T)) })
			})
		})
	}
	return h, nil
}

// commitWave commits one wave of records and returns their errors. A panic
// in the effect's functions (fn, Effect.ConditionFailed) fails only its own
// record, with a *batch.PanicError; an effect whose writes DynamoDB
// refuses fails alone, permanently (invalidWrite).
func (h *Handler[R]) commitWave(ctx context.Context, inv *invocation, g *guard.Guard, msgs []events.SQSMessage, effectOf func(context.Context, any) (Effect[R], error)) []error {
	errs := make([]error, len(msgs))
	var items []guard.TxItem[dynamostore.Write]
	var at []int // msgs index of each item
	var effects []Effect[R]
	for i, m := range msgs {
		r := h.read(inv, m)
		if r.err != nil {
			errs[i] = h.settle(ctx, inv, m, guard.Result{}, nil, false, r.err)
			continue
		}
		eff, err := recovered(func() (Effect[R], error) { return effectOf(ctx, r.body) })
		if err == nil {
			eff.Writes, err = h.withOutbox(h.recordContext(ctx, inv, m.MessageId), r.key, eff)
		}
		if err != nil {
			errs[i] = h.settle(ctx, inv, m, guard.Result{}, nil, false, err)
			continue
		}
		items = append(items, guard.TxItem[dynamostore.Write]{Key: r.key, Payload: r.payload, Result: h.encode(ctx, m, eff.Result), Writes: eff.Writes})
		at = append(at, i)
		effects = append(effects, eff)
	}
	if len(items) == 0 {
		return errs
	}
	// Effects whose writes were found applied are completed without them.
	var done []guard.TxItem[dynamostore.Write]
	var doneAt []int
	var doneValue []any
	for k, res := range guard.CommitBatch(ctx, g, items) {
		i := at[k]
		var wce *idempotency.WriteConditionError
		if !errors.As(res.Err, &wce) {
			errs[i] = h.settle(ctx, inv, msgs[i], res.Result, effects[k].Result, false, invalidWrite(res.Err))
			continue
		}
		verdict := judgeCondition(effects[k], wce)
		if errors.Is(verdict, ErrAlreadyApplied) {
			it := items[k]
			it.Writes = nil
			done, doneAt, doneValue = append(done, it), append(doneAt, i), append(doneValue, effects[k].Result)
			continue
		}
		errs[i] = h.settle(ctx, inv, msgs[i], guard.Result{}, nil, false, verdict)
	}
	for k, res := range guard.CommitBatch(ctx, g, done) {
		i := doneAt[k]
		errs[i] = h.settle(ctx, inv, msgs[i], res.Result, doneValue[k], res.Err == nil && res.Result.Outcome == guard.OutcomeExecuted, res.Err)
	}
	return errs
}

// invalidWrite makes the error of an effect whose writes DynamoDB refuses
// (dynamostore.ErrInvalidWrite) a permanent failure of class
// ClassInvalidWrite, no longer wrapped as a failure of the store
// (guard.CommitBatch wraps every error it does not know in an
// idempotency.StoreError): it is the effect's fault, and no outage. Other
// errors are returned as they are.
func invalidWrite(err error) error {
	if !errors.Is(err, dynamostore.ErrInvalidWrite) {
		return err
	}
	if se := (*idempotency.StoreError)(nil); errors.As(err, &se) {
		err = se.Err
	}
	return batch.Permanent(batch.WithClass(err, ClassInvalidWrite))
}

// judgeCondition asks an effect what its failed write condition means.
func judgeCondition[R any](eff Effect[R], wce *idempotency.WriteConditionError) error {
	if published(eff, wce) {
		return ErrAlreadyApplied
	}
	existing, _ := wce.Existing.(map[string]types.AttributeValue)
	cause := fmt.Errorf("write %d of the effect: its condition failed", wce.Index)
	if eff.ConditionFailed == nil {
		return batch.Permanent(batch.WithClass(cause, ClassConditionFailed))
	}
	_, verdict := recovered(func() (struct{}, error) { return struct{}{}, eff.ConditionFailed(wce.Index, existing) })
	switch {
	case verdict == nil:
		return fmt.Errorf("%w; ConditionFailed returned nil: return ErrAlreadyApplied, a batch.Permanent error or a retryable one", cause)
	case errors.Is(verdict, ErrAlreadyApplied):
		return verdict
	case batch.ClassOf(verdict) == batch.ClassError || batch.ClassOf(verdict) == batch.ClassPermanent:
		return batch.WithClass(fmt.Errorf("%w: %w", cause, verdict), ClassConditionFailed)
	}
	return fmt.Errorf("%w: %w", cause, verdict)
}
