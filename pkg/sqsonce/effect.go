package sqsonce

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// EffectFunc is the effect of one message, for New. It returns the result
// stored (encoded with Config.Codec) and replayed to the message's
// duplicates; use struct{} when there is none. An error fails the record,
// which SQS delivers again; a [Permanent] error sends it to the
// DLQ. It must honour ctx.
type EffectFunc[T, R any] func(ctx context.Context, body T) (R, error)

// New returns a Handler that runs fn once per idempotency key, for any
// effect. Each batch's keys are claimed in one request before its records
// run (with a store that implements idempotency.BatchClaimer, as
// dynamostore does), so a new message then costs one more request, its
// completion; a duplicate costs nothing beyond its share of the batch claim.
// The claim's lease lasts the invocation plus a margin, and a completion
// after the lease was taken over is refused (ErrLeaseLost), never written.
func New[T, R any](store idempotency.Store, msg Message[T], fn EffectFunc[T, R], cfg Config, opts ...Option[R]) (*Handler[R], error) {
	if fn == nil {
		return nil, &ConfigError{"fn", "nil: give the effect to run"}
	}
	h, g, err := newHandler(store, msg, cfg, opts)
	if err != nil {
		return nil, err
	}
	h.run = func(ctx context.Context, ev events.SQSEvent, inv *invocation) (batch.Report, error) {
		items := make([]guard.Item, 0, len(inv.order))
		for _, r := range inv.order {
			if r.err == nil {
				items = append(items, guard.Item{Key: r.key, Payload: r.payload})
			}
		}
		// Completions end before the processor stops waiting for them.
		finishBy, _ := h.cfg.batch().FinishBy(ctx, h.cfg.Clock())
		claims := g.ClaimAhead(ctx, items, finishBy)
		defer claims.Release()
		return h.proc.Run(ctx, ev, func(ctx context.Context, m events.SQSMessage, slot *batch.Slot) error {
			ctx = h.recordContext(ctx, inv, m.MessageId)
			r := h.read(inv, m)
			if r.err != nil {
				return h.settle(ctx, inv, m, guard.Result{}, nil, false, r.err)
			}
			var value any
			res, err := claims.Do(ctx, r.key, r.payload, func(ctx context.Context) ([]byte, error) {
				v, err := fn(ctx, r.body.(T))
				// The record now only waits for its completion, which it
				// shares with the records that ran beside it: its slot
				// goes to the next record.
				slot.Release()
				if err != nil {
					return nil, err
				}
				value = v
				return h.encode(ctx, m, v), nil
			})
			return h.settle(ctx, inv, m, res, value, false, err)
		}, nil)
	}
	return h, nil
}

// newHandler checks the configuration shared by New and NewDynamoDB.
func newHandler[T, R any](store idempotency.Store, msg Message[T], cfg Config, opts []Option[R]) (*Handler[R], *guard.Guard, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	read, err := reader(msg)
	if err != nil {
		return nil, nil, err
	}
	g, err := cfg.guard(store)
	if err != nil {
		return nil, nil, err
	}
	proc, err := batch.NewProcessor(cfg.batch())
	if err != nil {
		return nil, nil, fromBatch(err)
	}
	h := &Handler[R]{cfg: cfg, proc: proc, prepare: read, store: store}
	for _, o := range opts {
		o(&h.hooks)
	}
	if cfg.Pause != nil {
		h.pauser = &pauser{cfg: *cfg.Pause, now: cfg.Clock}
	}
	if cfg.Backoff != nil {
		h.backoff = &backoff{cfg: *cfg.Backoff}
	}
	return h, g, nil
}

// encode encodes an effect's result for the store. The effect has run by
// then, so a result that does not encode is logged and stored as none,
// never a failure that would run the effect again.
func (h *Handler[R]) encode(ctx context.Context, msg events.SQSMessage, r R) []byte {
	data, err := encodeResult(h.cfg.Codec, r)
	if err != nil {
		h.cfg.Logger.ErrorContext(ctx, "sqsonce: the effect's result does not encode; it is stored as none",
			"message_id", msg.MessageId, "error", err.Error())
	}
	return data
}
