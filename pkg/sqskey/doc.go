// Package sqskey extracts the idempotency key of an SQS message.
//
// The right key is the producer's own identity of the event, usually a field
// of the body: a producer that retries a send makes a new SQS message with a
// new message ID but the same event id, which only a body key catches. The
// SQS message ID only catches SQS's own redeliveries. A FIFO queue's
// deduplication ID and a message attribute are the other choices.
package sqskey
