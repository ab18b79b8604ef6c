package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// Handler is an exactly-once Lambda SQS handler, made by New or
// NewDynamoDB. It is safe for concurrent use; build it once per execution
// environment, outside the handler.
type Handler struct {
	cfg    Config
	proc   *sqsbatch.Processor
	before func(ctx context.Context, recs []record) (context.Context, func()) // runs before the batch; its func after

	prepare func(msg events.SQSMessage) record

	store   idempotency.Store
	health  health
	pauser  *pauser  // nil without Config.Pause
	backoff *backoff // nil without Config.Backoff

	mu     sync.Mutex
	totals Counts
}

// Handle has the signature lambda.Start expects for an SQS event source
// mapping with ReportBatchItemFailures.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r, err := h.Process(ctx, ev)
	return r.Response, err
}

// Report is what became of one batch.
type Report struct {
	sqsbatch.Report
	// Counts counts the batch's idempotency outcomes.
	Counts Counts
}

// Process runs a batch and reports what became of every record.
func (h *Handler) Process(ctx context.Context, ev events.SQSEvent) (Report, error) {
	inv := &invocation{recs: make(map[string]record, len(ev.Records))}
	recs := make([]record, 0, len(ev.Records))
	for _, msg := range ev.Records {
		if _, seen := inv.recs[msg.MessageId]; seen || msg.MessageId == "" {
			continue
		}
		r := h.prepare(msg)
		inv.recs[msg.MessageId] = r
		recs = append(recs, r)
	}
	ctx = context.WithValue(ctx, invocationKey{}, inv)
	after := func() {}
	if h.before != nil {
		ctx, after = h.before(ctx, recs)
	}
	began := h.cfg.Clock()
	r, err := h.proc.Process(ctx, ev)
	after()
	inv.mu.Lock()
	counts := inv.counts
	inv.mu.Unlock()
	h.containOutage(ctx, ev, r, counts, began)
	h.mu.Lock()
	h.totals = h.totals.Add(counts)
	h.mu.Unlock()
	if h.cfg.Metrics != nil {
		if werr := h.cfg.Metrics.WriteMetrics(h.cfg.Clock(), counts.metrics()...); werr != nil {
			h.cfg.Logger.ErrorContext(ctx, "sqsonce: write metrics", "error", werr.Error())
		}
	}
	return Report{Report: r, Counts: counts}, err
}

// Totals returns the idempotency outcomes of every batch so far.
func (h *Handler) Totals() Counts {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.totals
}

// record is one message, read: its body decoded, its key and payload.
type record struct {
	msg     events.SQSMessage
	body    any    // the decoded T
	key     string // the business key
	payload []byte
	err     error // why it cannot run: undecodable or no key (permanent), a Retryable decode error, or a panic
}

// invocation is what one Process shares with its records' handlers.
type invocation struct {
	recs map[string]record // by message ID

	mu     sync.Mutex
	counts Counts
}

type invocationKey struct{}

func invocationOf(ctx context.Context) *invocation {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	return inv
}

// read returns the prepared record of msg (preparing it if it was not).
func (h *Handler) read(ctx context.Context, msg events.SQSMessage) (record, *invocation) {
	inv := invocationOf(ctx)
	if inv == nil {
		inv = &invocation{}
	}
	r, ok := inv.recs[msg.MessageId]
	if !ok {
		r = h.prepare(msg)
	}
	return r, inv
}

// Error classes of a Handler's failures, in logs, metrics and the DLQ's
// error-class attribute.
const (
	ClassInvalid         = "invalid"          // the body does not decode (permanent), unless the decoder's error names its class
	ClassMissingKey      = "missing-key"      // no idempotency key (permanent)
	ClassPayloadMismatch = "payload-mismatch" // the key was used with another payload (permanent)
	ClassInProgress      = "in-progress"      // another delivery holds the key
	ClassStoreFailed     = "store-failed"     // the idempotency store failed
	ClassContended       = "contended"        // transaction conflicts or throttling outlasted the retries
	ClassLeaseLost       = "lease-lost"       // the claim was taken over before completion
	ClassConditionFailed = "condition-failed" // a write's own condition failed, judged a conflict (permanent)
	ClassEffect          = "effect"           // the effect itself failed
	ClassInvalidWrite    = "invalid-write"    // the effect's writes are ones DynamoDB refuses (permanent)
	ClassDecodeFailed    = "decode-failed"    // the decoder failed and asked for a retry (Retryable), unless its error names its class
)

// settle counts and logs a record's outcome and turns it into the error the
// batch processor reports (nil on success).
func (h *Handler) settle(ctx context.Context, inv *invocation, msg events.SQSMessage, res idempotency.Result, already bool, err error) error {
	log := h.cfg.Logger.With("message_id", msg.MessageId)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	c := &inv.counts
	switch {
	case err == nil && already:
		c.AlreadyApplied++
		log.InfoContext(ctx, "sqsonce: effect already applied", "idempotency", "already-applied")
		return nil
	case err == nil && res.Outcome == idempotency.OutcomeReplayed:
		c.Replayed++
		log.InfoContext(ctx, "sqsonce: duplicate suppressed", "idempotency", "replayed", "from_cache", res.FromCache)
		return nil
	case err == nil:
		c.Executed++
		log.InfoContext(ctx, "sqsonce: effect applied", "idempotency", "executed")
		return nil
	}
	class := sqsbatch.ClassOf(err)
	switch {
	case errors.As(err, new(*invalidInput)):
		c.Invalid++
		return err
	case errors.As(err, new(*unreadable)):
		c.DecodeFailed++
		return err
	case class == ClassInvalidWrite:
		c.InvalidWrite++
		return err
	case errors.Is(err, idempotency.ErrPayloadMismatch):
		c.PayloadMismatch++
		return sqsbatch.Permanent(sqsbatch.WithClass(fmt.Errorf("message %s: %w", msg.MessageId, err), ClassPayloadMismatch))
	case errors.Is(err, idempotency.ErrInProgress):
		c.InProgress++
		class = ClassInProgress
	case errors.Is(err, idempotency.ErrStoreFailed):
		c.StoreFailed++
		class = ClassStoreFailed
	case errors.Is(err, idempotency.ErrContended):
		c.Contended++
		class = ClassContended
	case errors.Is(err, idempotency.ErrLeaseLost):
		c.LeaseLost++
		class = ClassLeaseLost
	case class == ClassConditionFailed:
		c.ConditionFailed++
		return err
	default:
		c.EffectFailed++
		if class == sqsbatch.ClassError || class == sqsbatch.ClassPermanent {
			class = ClassEffect
		}
	}
	return sqsbatch.WithClass(fmt.Errorf("message %s: %w", msg.MessageId, err), class)
}
