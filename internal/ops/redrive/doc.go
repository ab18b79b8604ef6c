// Package redrive moves the messages of a dead-letter queue back to their
// source queue, so that they are processed again once their cause is fixed.
//
// Redrive first asks SQS to do it with StartMessageMoveTask and waits for the
// task to finish. Where the endpoint does not implement that operation (moto
// answers HTTP 500; others answer an unknown- or unsupported-operation
// error), it falls back to a loop of its own: ReceiveMessage from the DLQ,
// SendMessageBatch to the destination (body, message attributes,
// AWSTraceHeader, and for FIFO queues MessageGroupId and
// MessageDeduplicationId preserved), then DeleteMessageBatch of exactly the
// messages the send accepted. Options.Method forces either path.
//
// What it guarantees, and what it does not:
//   - No message is lost: a message leaves the DLQ only after the
//     destination has accepted its copy. A send that fails leaves the message
//     in the DLQ (it is counted as failed and not retried in the same run).
//   - A message can be moved twice: if the process dies, or the delete fails,
//     between the send and the delete, the message is in both queues and a
//     later redrive moves it again. Preventing that would need a transaction
//     across two queues that SQS does not offer. sqsonce consumers make the
//     duplicate harmless: the copy carries the same event, and the
//     idempotency record keyed on it suppresses the second execution.
//   - Within one run, a received message is hidden from other consumers of
//     the DLQ for Options.VisibilityTimeout, so two concurrent redrives do
//     not both move it unless a send outlasts that timeout.
//   - FIFO: a copy keeps its MessageDeduplicationId, so a redrive within the
//     destination's 5-minute deduplication interval of the original send is
//     accepted but dropped by SQS's deduplication, and the message is then
//     gone from both queues. Redrive a FIFO DLQ only after that interval.
//   - Options.MaxAge leaves in the DLQ every message first sent longer ago
//     (set it to the idempotency records' TTL: such a message's record may
//     have expired, and its copy would run the effect again), counted in
//     Result.TooOld and made visible again at the end. The first send is
//     the message's AttrFirstSentAt, which the loop puts on each copy, else
//     its SentTimestamp: a queue's redrive policy keeps that, but a message
//     the consumer sent to the DLQ itself (sqsonce.DLQ) carries the time
//     of that send, so its age is counted from its last failure. A move task
//     cannot filter, so MaxAge runs the loop.
//   - The fallback stops when a receive comes back empty; messages that are
//     in flight in the DLQ at that moment (being read by someone else) stay
//     there. In a FIFO DLQ, a message whose copy failed also holds back the
//     rest of its message group until its visibility timeout ends, so those
//     wait for the next run.
package redrive
