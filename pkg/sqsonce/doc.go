// Package sqsonce makes an AWS Lambda consumer of Amazon SQS exactly-once in
// its effects: give it how to read a message and what its effect is, and it
// returns the Lambda handler (pass Handle to lambda.Start).
//
// There is one constructor per kind of effect:
//
//   - [New], for any effect (an HTTP call, an email, a write anywhere): the
//     keys of a batch are claimed ahead in one request, the function runs
//     once per key under a lease, and its completion is fenced by the
//     claim's owner token (idempotency.Guard.Do).
//   - [NewDynamoDB], for effects that are DynamoDB writes: the function
//     returns the writes of one message, and each message's writes commit in
//     one transaction with its idempotency record, many messages per
//     TransactWriteItems (idempotency.CommitBatch). Counter updates declared
//     with dynamostore.Add are merged per item.
//
// Both carry what pkg/sqsbatch gives: partial batch failures
// (batchItemFailures), bounded parallelism, FIFO message groups in order (a
// failed record stops its group), the Lambda deadline (records not done
// before the safety margin are reported, never left to the timeout), a
// breaker that fails the rest of a batch fast while the store is down,
// permanent failures (bad input, a key reused with another payload) to the
// DLQ, one log line per record and Embedded Metric Format metrics.
//
// # What is guaranteed
//
//   - One effect per key while its record lives (Config.TTL): duplicate
//     deliveries, Lambda batch retries and producer retries (the same key in
//     a new message, even in the same batch) replay the stored result.
//   - NewDynamoDB: an effect and its record commit together or not at all,
//     so the effect happens once even when a worker stalls or dies.
//   - Nothing runs unclaimed: if the store fails, records fail and are
//     retried by SQS.
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
//   - New: an effect outside the store can repeat if a worker dies (or
//     stalls past its lease) after the effect and before its completion.
//     Make such effects idempotent themselves where you can.
//   - After the TTL a key is forgotten. Keep it at least as long as a
//     message can be redelivered (the queue's retention period).
//   - Leases compare clocks: workers' clocks are assumed to agree within
//     idempotency.Config.LeaseMargin.
package sqsonce
