package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// Handler is an exactly-once Lambda SQS handler whose effects have results
// of type R, made by New or NewDynamoDB. It is safe for concurrent use;
// build it once per execution environment, outside the handler.
type Handler[R any] struct {
	cfg  Config
	proc *batch.Processor
	// run processes a batch with the handler of New or NewDynamoDB, bound to
	// the batch's invocation.
	run func(ctx context.Context, ev events.SQSEvent, inv *invocation) (batch.Report, error)

	prepare func(msg events.SQSMessage) record

	store   idempotency.Store
	health  health
	pauser  *pauser  // nil without Config.Pause
	backoff *backoff // nil without Config.Backoff
	hooks   hooks[R]

	mu     sync.Mutex
	totals Counts
}

// Handle has the signature lambda.Start expects for an SQS event source
// mapping with ReportBatchItemFailures.
func (h *Handler[R]) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r, err := h.Process(ctx, ev)
	return r.Response, err
}

// Process runs a batch and reports what became of every record. Its error
// is nil unless the whole batch must be retried: a record without a
// message ID (batch.ErrMissingMessageID), or the OnBatchFailed hook's
// error.
func (h *Handler[R]) Process(ctx context.Context, ev events.SQSEvent) (Report[R], error) {
	inv := &invocation{recs: make(map[string]record, len(ev.Records)), notes: map[string]note{}}
	recs := make([]record, 0, len(ev.Records))
	for _, msg := range ev.Records {
		if _, seen := inv.recs[msg.MessageId]; seen || msg.MessageId == "" {
			continue
		}
		r := h.prepare(msg)
		inv.recs[msg.MessageId] = r
		recs = append(recs, r)
	}
	inv.order = recs
	ctx = h.traceInvocation(ctx, ev, inv)
	began := h.cfg.Clock()
	r, err := h.run(ctx, ev, inv)
	inv.mu.Lock()
	counts := inv.counts.withBatch(r.Counts)
	inv.mu.Unlock()
	h.containOutage(ctx, ev, r, inv, counts, began)
	report := h.report(ev, r, inv, counts)
	defer func() { h.endTrace(inv, report, err) }()
	h.mu.Lock()
	h.totals = h.totals.Add(counts)
	h.mu.Unlock()
	h.writeMetrics(ctx, counts.metrics()...)
	if h.hooks.onRecord != nil {
		for _, rec := range report.Records {
			h.hooks.onRecord(ctx, rec)
		}
	}
	if err == nil && h.hooks.onBatchFailed != nil && len(report.Records) > 0 && counts.Reported == len(report.Records) {
		if herr := h.hooks.onBatchFailed(ctx, report); herr != nil {
			err = fmt.Errorf("sqsonce: all %d records of the batch failed: %w", len(report.Records), herr)
		}
	}
	return report, err
}

// Totals returns the counts of every batch so far.
func (h *Handler[R]) Totals() Counts {
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
	recs  map[string]record // by message ID
	order []record          // in batch order, once each

	mu     sync.Mutex
	counts Counts
	notes  map[string]note // by message ID: how each record that ran ended

	trace *invocationTrace // nil without Config.Tracing
}

// heldUntil returns when the live claim that failed a record with
// ErrInProgress ends its lease, if the store said.
func (inv *invocation) heldUntil(messageID string) (time.Time, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	var ipe *idempotency.InProgressError
	if errors.As(inv.notes[messageID].err, &ipe) {
		return ipe.LeaseUntil, true
	}
	return time.Time{}, false
}

// note is how a record that ran ended, for its Record in the Report.
type note struct {
	idempotency Idempotency
	data        []byte // the stored result (replays), or the encoded one
	value       any    // the effect's own result R, when it ran here
	fromCache   bool
	err         error
}

// read returns the prepared record of msg (preparing it if it was not).
func (h *Handler[R]) read(inv *invocation, msg events.SQSMessage) record {
	if r, ok := inv.recs[msg.MessageId]; ok {
		return r
	}
	return h.prepare(msg)
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
func (h *Handler[R]) settle(ctx context.Context, inv *invocation, msg events.SQSMessage, res guard.Result, value any, already bool, err error) error {
	ctx = h.settling(ctx, inv, msg)
	err = h.judge(ctx, inv, msg, res, value, already, err)
	if err != nil {
		inv.mu.Lock()
		inv.notes[msg.MessageId] = note{err: err}
		inv.mu.Unlock()
	}
	return err
}

// judge counts and logs a record's outcome and returns its error.
func (h *Handler[R]) judge(ctx context.Context, inv *invocation, msg events.SQSMessage, res guard.Result, value any, already bool, err error) error {
	log := h.cfg.Logger.With("message_id", msg.MessageId)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	c := &inv.counts
	ok := note{data: res.Data, value: value, fromCache: res.FromCache}
	switch {
	case err == nil && already:
		c.AlreadyApplied++
		ok.idempotency = IdempotencyAlreadyApplied
		inv.notes[msg.MessageId] = ok
		log.InfoContext(ctx, "sqsonce: effect already applied", "idempotency", "already-applied")
		return nil
	case err == nil && res.Outcome == guard.OutcomeReplayed:
		c.Replayed++
		ok.idempotency, ok.value = IdempotencyReplayed, nil
		inv.notes[msg.MessageId] = ok
		log.InfoContext(ctx, "sqsonce: duplicate suppressed", "idempotency", "replayed", "from_cache", res.FromCache)
		return nil
	case err == nil:
		c.Executed++
		ok.idempotency = IdempotencyExecuted
		inv.notes[msg.MessageId] = ok
		log.InfoContext(ctx, "sqsonce: effect applied", "idempotency", "executed")
		return nil
	}
	class := batch.ClassOf(err)
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
		return batch.Permanent(batch.WithClass(fmt.Errorf("message %s: %w", msg.MessageId, err), ClassPayloadMismatch))
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
		if class == batch.ClassError || class == batch.ClassPermanent {
			class = ClassEffect
		}
	}
	return batch.WithClass(fmt.Errorf("message %s: %w", msg.MessageId, err), class)
}
