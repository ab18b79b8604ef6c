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
//   - CompleteTx commits the caller's writes and the completion in one
//     TransactWriteItems, conditioned on the owner token: a worker fenced out
//     by an expired lease writes nothing.
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
// What it does not do: retry. The SDK's own retryer handles throttling; a
// failure that survives it is returned (the Guard wraps it in an
// idempotency.StoreError) so the message is retried by the queue.
package dynamostore
