package batch

// Outcome is what became of one record of a batch.
type Outcome string

const (
	// OutcomeSucceeded: the handler returned nil. Not reported.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeFailed: the handler returned an error. Reported.
	OutcomeFailed Outcome = "failed"
	// OutcomePermanent: the handler returned a Permanent error and no DLQ is
	// configured. Reported, so the queue's redrive policy handles it.
	OutcomePermanent Outcome = "permanent"
	// OutcomeSentToDLQ: a Permanent error, and the record was sent to the
	// configured DLQ. Not reported.
	OutcomeSentToDLQ Outcome = "sent_to_dlq"
	// OutcomeDLQFailed: a Permanent error, and sending to the DLQ failed.
	// Reported.
	OutcomeDLQFailed Outcome = "dlq_failed"
	// OutcomePanicked: the handler panicked. Reported.
	OutcomePanicked Outcome = "panicked"
	// OutcomeSkipped: not run, because an earlier record of its FIFO group
	// (or, in FIFOStrict, of the batch) failed. Reported.
	OutcomeSkipped Outcome = "skipped"
	// OutcomeDeadline: not run, because the safety margin before the
	// deadline was reached or the context was cancelled. Reported.
	OutcomeDeadline Outcome = "deadline"
	// OutcomeBreaker: not run, because the breaker was open. Reported.
	OutcomeBreaker Outcome = "breaker"
	// OutcomeAbandoned: the handler was still running, ignoring its
	// cancelled context, when the processor had to return. Reported.
	OutcomeAbandoned Outcome = "abandoned"
)

// Reported reports whether a record with this outcome is listed in
// batchItemFailures (and so delivered again).
func (o Outcome) Reported() bool {
	return o != OutcomeSucceeded && o != OutcomeSentToDLQ
}
