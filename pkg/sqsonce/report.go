package sqsonce

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// Outcome is what became of a record in its batch: one of the Outcome
// constants ([OutcomeSucceeded], [OutcomeFailed], ...). Its method
// Reported() is true for the outcomes listed in batchItemFailures, which SQS
// delivers again. Its value is its name ("succeeded"), as logged.
type Outcome = batch.Outcome

// The outcomes of a record; each one's meaning beside it.
const (
	OutcomeSucceeded = batch.OutcomeSucceeded // the effect ran or was replayed; not reported
	OutcomeFailed    = batch.OutcomeFailed    // failed; reported, delivered again
	OutcomePermanent = batch.OutcomePermanent // failed for good, no Config.DLQ; reported, left to the redrive policy
	OutcomeSentToDLQ = batch.OutcomeSentToDLQ // failed for good and sent to Config.DLQ; not reported
	OutcomeDLQFailed = batch.OutcomeDLQFailed // failed for good and the DLQ send failed; reported
	OutcomePanicked  = batch.OutcomePanicked  // a function panicked; reported
	OutcomeSkipped   = batch.OutcomeSkipped   // not run: an earlier record of its FIFO group failed; reported
	OutcomeDeadline  = batch.OutcomeDeadline  // not run: the deadline's safety margin was reached; reported
	OutcomeBreaker   = batch.OutcomeBreaker   // not run: the breaker was open; reported
	OutcomeAbandoned = batch.OutcomeAbandoned // still running at the deadline; reported
)

// Idempotency is what the idempotency layer did with a record that
// succeeded.
type Idempotency string

const (
	// IdempotencyExecuted: the effect ran for this delivery.
	IdempotencyExecuted Idempotency = "executed"
	// IdempotencyReplayed: a duplicate; the effect did not run and the
	// stored result was replayed.
	IdempotencyReplayed Idempotency = "replayed"
	// IdempotencyAlreadyApplied: NewDynamoDB found the effect's writes
	// applied (Effect.ConditionFailed returned ErrAlreadyApplied) and
	// completed the key without them.
	IdempotencyAlreadyApplied Idempotency = "already-applied"
)

// Report is what became of one batch.
type Report[R any] struct {
	// Response is what the Lambda function returns: the failed message IDs.
	// BatchItemFailures is never nil, so it marshals as [].
	Response events.SQSEventResponse
	// Counts counts the batch's records by outcome and by what the
	// idempotency layer did.
	Counts Counts
	// Records holds one Record per message ID of the batch, in batch order.
	Records []Record[R]

	index map[string]int
}

// Record is what became of one record of a batch.
type Record[R any] struct {
	MessageID string
	// Key is the record's idempotency key ("" when it had none).
	Key string
	// Outcome is what became of the record; it is listed in
	// batchItemFailures when Outcome.Reported().
	Outcome Outcome
	// Class is the error class of a record that did not succeed (Class...
	// constants), "" when it succeeded.
	Class string
	// Err is why the record failed; nil when it succeeded or never ran
	// (Outcome breaker, deadline, skipped: see Class).
	Err error
	// Idempotency says, for a record that succeeded, whether its effect ran
	// or was replayed.
	Idempotency Idempotency
	// Result is the effect's result: its own when it ran, the stored one,
	// decoded with Config.Codec, when it was replayed. The zero R otherwise.
	Result R
	// FromCache is true when a replay was answered by the local cache.
	FromCache bool
}

// Record returns the Record of the message with the given ID, and false when
// the batch had no such message.
func (r Report[R]) Record(messageID string) (Record[R], bool) {
	i, ok := r.index[messageID]
	if !ok {
		return Record[R]{}, false
	}
	return r.Records[i], true
}

// Outcome returns the outcome of the message with the given ID, and false
// when the batch had no such message.
func (r Report[R]) Outcome(messageID string) (Outcome, bool) {
	rec, ok := r.Record(messageID)
	return rec.Outcome, ok
}

// Class returns the error class of the message with the given ID, "" when
// it succeeded or the batch had no such message.
func (r Report[R]) Class(messageID string) string {
	rec, _ := r.Record(messageID)
	return rec.Class
}

// report builds the Report of a processed batch.
func (h *Handler[R]) report(ev events.SQSEvent, br batch.Report, inv *invocation, c Counts) Report[R] {
	rep := Report[R]{Response: br.Response, Counts: c, index: make(map[string]int, len(ev.Records))}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, msg := range ev.Records {
		if _, seen := rep.index[msg.MessageId]; seen || msg.MessageId == "" {
			continue
		}
		rec := Record[R]{MessageID: msg.MessageId, Key: inv.recs[msg.MessageId].key, Class: br.Class(msg.MessageId)}
		rec.Outcome, _ = br.Outcome(msg.MessageId)
		n := inv.notes[msg.MessageId]
		rec.Err, rec.Idempotency, rec.FromCache = n.err, n.idempotency, n.fromCache
		if v, ok := n.value.(R); ok {
			rec.Result = v
		} else if len(n.data) > 0 {
			var err error
			if rec.Result, err = decodeResult[R](h.cfg.Codec, n.data); err != nil {
				h.cfg.Logger.Warn("sqsonce: the stored result does not decode; the record's Result is empty",
					"message_id", msg.MessageId, "error", err.Error())
			}
		}
		rep.index[msg.MessageId] = len(rep.Records)
		rep.Records = append(rep.Records, rec)
	}
	return rep
}

// hooks are a Handler's callbacks (Options).
type hooks[R any] struct {
	onRecord      func(ctx context.Context, r Record[R])
	onBatchFailed func(ctx context.Context, r Report[R]) error
}

// Option sets a Handler's hook.
type Option[R any] func(*hooks[R])

// OnRecord calls fn after each batch with each of its records (its outcome,
// class, key, and the result its effect returned or a duplicate replayed),
// in batch order, before Process returns.
func OnRecord[R any](fn func(ctx context.Context, r Record[R])) Option[R] {
	return func(h *hooks[R]) { h.onRecord = fn }
}

// OnBatchFailed calls fn when every record of a batch failed; a non-nil
// error from fn is returned by Process and Handle, so Lambda counts a
// function error and backs off its polling (Powertools'
// throwOnFullBatchFailure). The whole batch is then retried, as it would be
// by its batch item failures. Return nil to answer with the batch item
// failures as usual.
func OnBatchFailed[R any](fn func(ctx context.Context, r Report[R]) error) Option[R] {
	return func(h *hooks[R]) { h.onBatchFailed = fn }
}
