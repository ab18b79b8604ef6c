// Package producer publishes events to SQS without losing any.
//
// SendMessageBatch can succeed as a call and still refuse some entries (its
// Failed list): a producer that ignores that list loses events silently, one
// of the commonest ways events go missing. Publisher retries exactly the
// refused entries, with backoff, until every entry is accepted, and reports
// what it could not send (entries SQS refuses as the sender's fault, such as
// an oversized body, are not retried: they never succeed).
//
// A retry may duplicate a message that SQS accepted but whose answer was
// lost; consumers deduplicate on the event id (the idempotency key), so
// that is harmless by design. On FIFO queues the event id is also the
// MessageDeduplicationId, and the account the MessageGroupId.
package producer
