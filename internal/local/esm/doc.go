// Package esm is a local event source mapping: it feeds a Lambda function
// from an SQS queue the way Lambda's SQS event source mapping does, so that
// `make demo` and the tests run a real bootstrap (under internal/local/rie) on
// real queues without an AWS account.
//
// A Mapping runs one poller per Invoker. Each poller long-polls the queue,
// gathers a batch (BatchSize messages, or what arrived within
// MaximumBatchingWindow), converts it into an events.SQSEvent exactly as
// Lambda does (messageId, receiptHandle, body, the system attributes Lambda
// passes, messageAttributes, md5OfBody, eventSource "aws:sqs",
// eventSourceARN, awsRegion), invokes the function, and reads its
// events.SQSEventResponse, as with ReportBatchItemFailures enabled:
//
//   - every message not listed in batchItemFailures is deleted;
//   - listed messages are left alone: they reappear after the visibility
//     timeout, and the queue's own redrive policy moves a message received
//     maxReceiveCount times to its dead-letter queue;
//   - a function error, a timeout, an unreadable response, or a failure
//     entry whose itemIdentifier is missing, empty or not in the batch fails
//     the whole batch: nothing is deleted.
//
// Given a Lambda API (Config.Lambda, for example moto's) and the UUID of a
// mapping created there, it polls only while that mapping is enabled, as
// Lambda does: a function that disables its own mapping (sqsonce.Pause)
// stops its consumption, and enabling it resumes polling.
//
// What it does not do: it never changes a message's visibility, retries an
// invocation itself, or scales pollers with the backlog; it does not enforce
// Lambda's 6 MB payload limit; and it does not order FIFO message groups
// across pollers (use one poller for a FIFO queue whose order matters).
// Deletion is at least once in the other direction too: a batch whose
// deletion fails is delivered again, which sqsonce's idempotency absorbs.
//
// Stopping: when Run's context is cancelled, pollers stop receiving (a long
// poll in progress is abandoned, and anything it had received reappears after
// the visibility timeout), while a batch already received is invoked and
// deleted to the end. RunUntilDrained stops by itself once the queue has no
// visible or in-flight messages.
package esm
