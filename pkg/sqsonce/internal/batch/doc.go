// Package batch turns a per-record handler into a correct AWS Lambda
// handler for an SQS event source mapping with ReportBatchItemFailures.
//
// Lambda retries only the message IDs a function returns in
// batchItemFailures, so that list is the whole contract: a record missing from
// it is deleted from the queue, a record in it is delivered again. A
// [Processor.Run] runs each record through a [SlotHandler] (or the records
// in waves through a [BatchHandler]) and builds the list.
//
// # What it guarantees
//
//   - The response names only message IDs present in the batch, each at most
//     once, in batch order. A record that appears twice in one batch (the same
//     messageId) runs once.
//   - A record is left out of batchItemFailures only when its handler returned
//     nil, or returned a [Permanent] error that was then accepted by the
//     configured dead-letter queue ([DLQ]). Every other record (an error, a
//     panic, a record skipped or never started) is reported as failed, so
//     nothing is lost: the queue delivers it again or, after maxReceiveCount,
//     moves it to its DLQ.
//   - Standard queues: records run in parallel, at most Config.Concurrency
//     (default [ConcurrencyDefault]) at once: a record starts once a slot is
//     free and holds it until its handler returns or releases it
//     ([SlotHandler]).
//   - FIFO queues (an event source ARN ending in ".fifo"; a MessageGroupId
//     alone does not make a queue FIFO: fair queues set it on standard
//     queues): the records of one message group run one at a time in batch
//     order; groups run in parallel. After a failure the later records of that
//     group are reported failed without running ([FIFOSkipGroup], the
//     default), or, with [FIFOStrict], every later record of the batch is
//     (the behaviour AWS documents; records then run one at a time).
//   - A panic in a handler fails that record (the stack is logged); it never
//     fails the invocation.
//   - Deadline: the processor stops starting records a safety margin before
//     the context's deadline (Config.SafetyMargin, default
//     [SafetyMarginDefault], capped at a quarter of the time left when the
//     invocation starts) and cancels the context of running handlers. Records
//     not started are reported failed. Handlers that ignore the cancellation
//     are waited for until half the margin is left, then reported failed
//     ([OutcomeAbandoned]) so the function still returns before its deadline.
//   - Breaker: with Config.BreakAfter > 0, after that many consecutive
//     outage-class failures (Config.IsOutage) in one invocation, records not
//     yet started are reported failed without running.
//   - A record without a messageId cannot be named in a response (AWS treats
//     an empty itemIdentifier as a failure of the whole batch). When one is
//     present no record runs and Run returns [ErrMissingMessageID], so
//     Lambda retries the whole batch; no record is acknowledged unprocessed.
//
// # What it does not guarantee
//
//   - Exactly-once effects. SQS delivers at least once and a record reported
//     failed (or abandoned while its handler was still running) is delivered
//     again: handlers must be idempotent (see pkg/idempotency).
//   - That a handler which ignores ctx stops: an abandoned handler's goroutine
//     keeps running until it returns, possibly into the next invocation of
//     the same Lambda environment. Its late result is discarded.
//   - Ordering across message groups, or any order on a standard queue.
//   - That the breaker remembers an outage across invocations: it is reset
//     at the start of each batch.
//   - Delivery of a permanent failure to the DLQ when the DLQ rejects it (for
//     example a message that would exceed SQS's limits once the error
//     attributes are added): the record is then reported failed instead.
//
// Logs: one structured line per record (message ID, outcome, duration, error
// class and error text) through Config.Logger; the body is never logged.
// Metrics: [Report] carries per-invocation [Counts], [Processor.Totals] the
// running totals, and [EMF.Write] writes them as CloudWatch Embedded Metric
// Format.
package batch
