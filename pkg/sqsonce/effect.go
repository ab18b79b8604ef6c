package sqsonce

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// EffectFunc is the effect of one message, for New. It returns the result
// stored for (and replayed to) the message's duplicates; nil is a valid
// result. An error fails the record, which SQS delivers again; a
// sqsbatch.Permanent error sends it to the DLQ. It must honour ctx.
type EffectFunc[T any] func(ctx context.Context, body T) ([]byte, error)

// New returns a Handler that runs fn once per idempotency key, for any
// effect. Each batch's keys are claimed in one request before its records
// run (with a store that implements idempotency.BatchClaimer, as
// dynamostore does), so a new message then costs one more request, its
// completion; a duplicate costs nothing beyond its share of the batch claim.
// The claim's lease lasts the invocation plus a margin, and a completion
// after the lease was taken over is refused (ErrLeaseLost), never written.
func New[T any](store idempotency.Store, msg Message[T], fn EffectFunc[T], cfg Config) (*Handler, error) {
	if fn == nil {
		return nil, &ConfigError{"fn", "nil: give the effect to run"}
	}
	h, g, err := newHandler(store, msg, cfg)
	if err != nil {
		return nil, err
	}
	h.before = func(ctx context.Context, recs []record) (context.Context, func()) {
		items := make([]idempotency.Item, 0, len(recs))
		for _, r := range recs {
			if r.err == nil {
				items = append(items, idempotency.Item{Key: r.key, Payload: r.payload})
			}
		}
		return g.ClaimAhead(ctx, items)
	}
	h.proc, err = sqsbatch.New(func(ctx context.Context, m events.SQSMessage) error {
		r, inv := h.read(ctx, m)
		if r.err != nil {
			return h.settle(ctx, inv, m, idempotency.Result{}, false, r.err)
		}
		if by, ok := sqsbatch.FinishBy(ctx); ok {
			ctx = idempotency.WithFinishBy(ctx, by)
		}
		res, err := g.Do(ctx, r.key, r.payload, func(ctx context.Context) ([]byte, error) {
			return fn(ctx, r.body.(T))
		})
		return h.settle(ctx, inv, m, res, false, err)
	}, h.cfg.batch())
	if err != nil {
		return nil, err
	}
	return h, nil
}

// newHandler checks the configuration shared by New and NewDynamoDB.
func newHandler[T any](store idempotency.Store, msg Message[T], cfg Config) (*Handler, *idempotency.Guard, error) {
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
	h := &Handler{cfg: cfg, prepare: read, store: store}
	if cfg.Pause != nil {
		h.pauser = &pauser{cfg: *cfg.Pause, now: cfg.Clock}
	}
	if cfg.Backoff != nil {
		h.backoff = &backoff{cfg: *cfg.Backoff}
	}
	return h, g, nil
}
