// Package sqsonce makes an AWS Lambda consumer of Amazon SQS exactly-once in
// its effects: give it how to read a message and what its effect is, and it
// returns the Lambda handler (pass [Handler.Handle] to lambda.Start, or the [Handler] to
// lambda.StartHandler when it also serves the store probe).
//
// There is one constructor per kind of effect:
//
//   - [New], for any effect (an HTTP call, an email, a write anywhere): the
//     keys of a batch are claimed ahead in one request, the function runs
//     once per key under a lease, and its completion is fenced by the
//     claim's owner token.
//   - [NewDynamoDB], for effects that are DynamoDB writes: the function
//     returns the writes of one message, and each message's writes commit in
//     one transaction with its idempotency record, many messages per
//     TransactWriteItems. Counter updates declared
//     with dynamostore.Add are merged per item.
//
// Both carry what the batch processor gives: partial batch failures
// (batchItemFailures), bounded parallelism, FIFO message groups in order (a
// failed record stops its group), the Lambda deadline (records not done
// before the safety margin are reported, never left to the timeout), a
// breaker that fails the rest of a batch fast while the store is down,
// permanent failures (bad input, a key reused with another payload) to the
// DLQ, one log line per record and Embedded Metric Format metrics.
//
// # Results, reports and hooks
//
// An effect returns a result of its own type R, stored with its record
// (encoded by [Config.Codec], JSON by default) and given back, decoded, to
// its duplicates. [Handler.Process] returns a [Report] with one [Record] per
// message: its outcome, error class, key, whether the effect ran or was
// replayed, and the result. [OnRecord] sees each record after its batch;
// [OnBatchFailed] can fail an invocation whose every record failed, so that
// Lambda backs off its polling.
//
// # Tracing
//
// With [Config.Tracing], each invocation and each record is an OpenTelemetry
// span: a record's span continues the trace its producer started (W3C
// traceparent or X-Ray's AWSTraceHeader, read by [DefaultPropagator]) and
// links its invocation, its requests run under it, and its log lines carry
// trace_id and span_id. [Tracing] says which spans, attributes and links.
// Without it nothing is traced, at no cost.
//
// # Any trigger, envelopes and tests
//
//   - [Once] is the same idempotency for any handler (an API Gateway
//     request keyed by an Idempotency-Key header, an EventBridge target, a
//     Step Functions task): [Once.Do] runs a function once per key and gives
//     a repeat the stored result back ([ErrInProgress] while another runs it,
//     [ErrPayloadMismatch] for a key reused with another payload).
//   - [SNS] and [EventBridge] read the common fan-ins to SQS: the inner event
//     is decoded, and its payload is the event alone, so a re-published event
//     is a duplicate.
//   - Package sqsoncetest builds SQS events (standard and FIFO) and gives an
//     in-memory store and Report helpers, for table tests without AWS.
//
// # A store outage of any length
//
// SQS counts every receive, and dead-letters a message received
// maxReceiveCount times: without help, a store outage longer than the
// queue's visibility timeout times maxReceiveCount moves healthy messages to
// the DLQ. Two levers contain it:
//
//   - [Config.Pause] pauses consumption: once the store has failed, with no
//     answer, for [Pause.After] (1 minute by default) in one execution
//     environment, the Handler tags and disables its function's event source
//     mapping of the failing queue; Lambda stops polling and the messages
//     wait. [Handler.Probe], run on a schedule ([Handler.Invoke] serves
//     [ProbeEvent] and EventBridge's scheduled events beside SQS batches),
//     reads the store ([CheckStore]) and enables the mapping again once it
//     answers. A blip never pauses: the store's first answer clears the
//     judgement. A mapping an operator paused is never resumed by a probe.
//   - [Config.Backoff] hides the records that failed because the store did
//     for the queue's visibility timeout doubled at each receive (capped
//     below SQS's 12 hours), so they spend their receives slowly while the
//     pause takes effect.
//
// Pausing takes [Pause.After] plus the time the mapping takes to stop
// (Disabling, seconds to a minute in AWS); resuming takes up to the probe's
// interval plus the time it takes to start. A message whose receives were
// all spent before the pause took effect is still dead-lettered: keep
// maxReceiveCount x the visibility timeout well above Pause.After.
//
// # IAM permissions
//
// What each constructor and option calls, as IAM actions on the role of the
// function (TransactWriteItems has no action of its own: each item in it is
// authorized as PutItem, UpdateItem, DeleteItem or ConditionCheckItem on
// its table):
//
//   - [New] on a [dynamostore.Store]: on the idempotency table,
//     dynamodb:PutItem (claims, one by one or ahead in a transaction of
//     puts), dynamodb:UpdateItem (completions, one by one or in a
//     transaction of updates), dynamodb:DeleteItem (releases of claims whose
//     work failed or never ran) and dynamodb:GetItem (a record a refused
//     claim did not return, and [CheckStore]).
//   - [NewDynamoDB]: on the idempotency table, dynamodb:PutItem (each
//     record, in the transaction of its writes) and dynamodb:GetItem (a
//     record a cancelled transaction did not return, and [CheckStore]); on
//     each table the effect writes, its writes' actions: dynamostore.Put
//     needs dynamodb:PutItem, Update and Add dynamodb:UpdateItem, Delete
//     dynamodb:DeleteItem, Check dynamodb:ConditionCheckItem.
//   - A dynamostore layout with a sort key (a shared table) also puts and
//     reads its layout item (PutItem, GetItem): no action beyond the above.
//   - [New] on a redisstore.Store (Valkey/Redis): none in IAM; the function
//     needs a network path to the cache (its VPC and security group) and the
//     cache's AUTH or ACL credentials. On memstore: none.
//   - [Config.Outbox] ([Effect.Publish]): dynamodb:PutItem on the outbox
//     table, in the transaction of the effect's writes (the relay's are in
//     package outbox).
//   - [Config.DLQ]: sqs:SendMessage on the DLQs.
//   - [Config.Backoff]: sqs:ChangeMessageVisibility (the batch call) and
//     sqs:GetQueueUrl on the consumed queues, and sqs:GetQueueAttributes
//     when [Backoff.Base] is zero (the queue's visibility timeout is read).
//   - [Config.Pause] and [Handler.Probe]: lambda:ListEventSourceMappings
//     (it takes no resource: Resource "*"), and on the function's event
//     source mappings lambda:UpdateEventSourceMapping (condition
//     lambda:FunctionArn), lambda:TagResource and lambda:UntagResource (tag
//     keys sqsonce:*) and lambda:ListTags.
//
// Lambda's own event source mapping needs sqs:ReceiveMessage,
// sqs:DeleteMessage and sqs:GetQueueAttributes on the queues, and the
// function logs:CreateLogStream and logs:PutLogEvents; the template's
// ConsumerRole grants exactly these, for the configuration it deploys.
//
// # What is guaranteed
//
//   - One effect per key while its record lives ([Config.TTL]): duplicate
//     deliveries, Lambda batch retries and producer retries (the same key in
//     a new message, even in the same batch) replay the stored result.
//   - [NewDynamoDB]: an effect and its record commit together or not at all,
//     so the effect happens once even when a worker stalls or dies.
//   - Nothing runs unclaimed: if the store fails, records fail and are
//     retried by SQS; with Config.Pause and Config.Backoff, a store outage of
//     any length moves no healthy message to the DLQ.
//   - Bad input is never dropped: an undecodable body, a missing key, or a
//     key reused with another payload is a permanent failure, reported (or
//     sent to the DLQ at once with Config.DLQ).
//   - One bad message fails only itself, as the class it is: a panic in a
//     function of the Message or the effect fails only its record (class
//     "panic"); NewDynamoDB writes DynamoDB refuses (an item over 400 KB, a
//     message whose writes exceed a 4 MB transaction, two writes to one
//     item, a ValidationError on its own write or on its share of a merged
//     Add) fail only their message, permanently (ClassInvalidWrite), and are
//     never taken for a store outage; a decoder's error marked [Retryable]
//     is retried, and is no outage either.
//
// # What is not
//
//   - [New]: an effect outside the store can repeat if a worker dies (or
//     stalls past its lease) after the effect and before its completion.
//     Make such effects idempotent themselves where you can.
//   - After the TTL a key is forgotten. Keep it at least as long as a
//     message can be redelivered (the queue's retention period).
//   - Leases compare clocks: workers' clocks are assumed to agree within
//     a lease margin of 5 s.
package sqsonce
