// Package dynamostore is the DynamoDB adapter of idempotency.Store.
//
// Each protocol step is one request:
//
//   - Claim is a conditional PutItem
//     (attribute_not_exists(id) OR expiration < :now OR
//     (status = INPROGRESS AND in_progress_expiration < :now_ms)) with
//     ReturnValuesOnConditionCheckFailure=ALL_OLD, so a duplicate costs one
//     request and no read.
//   - Complete is an UpdateItem conditioned on the owner token and INPROGRESS.
//   - Release is a DeleteItem conditioned on the owner token and INPROGRESS.
//   - ClaimBatch claims up to 100 keys in one TransactWriteItems, judging
//     each failed condition from its ALL_OLD item.
//   - CommitBatch commits effects made of Writes with their COMPLETED
//     records, many effects per TransactWriteItems (up to 100 actions, never
//     two on one item; Adds to one item merged into their exact sum).
//
// The table needs a string partition key named "id" and TTL enabled on the
// "expiration" attribute (epoch seconds). Attribute names follow Powertools
// for AWS Lambda (id, status, expiration, in_progress_expiration, data,
// validation), plus owner_token, so existing tables and dashboards carry over.
//
// Retried requests are safe: when the SDK retries a claim or a completion
// whose first attempt succeeded but whose answer was lost, the condition
// fails on the store's own earlier write, and the existing item (ALL_OLD)
// shows the caller's owner token, so the retry is recognised as success
// rather than reported as in progress or as a lost lease.
//
// Retries: the SDK's own retryer handles throttled and failed requests. A
// transaction cancelled for contention (TransactionConflict,
// ThrottlingError, ProvisionedThroughputExceeded), which the SDK does not
// retry, is sent again after a jittered exponential backoff (10ms doubling
// up to 1s, 8 attempts, never past the context); what outlasts that is
// idempotency.ErrContended. Any other failure is returned (sqsonce wraps
// it in an idempotency.StoreError) so the message is retried by the queue.
package dynamostore
