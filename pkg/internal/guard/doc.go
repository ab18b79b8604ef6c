// Package guard makes the effect of a unit of work happen once, even when
// the work is delivered many times (SQS at-least-once delivery, Lambda batch
// retries, producer retries). It is sqsonce's engine: users reach it through
// sqsonce (New, NewDynamoDB, Once), store authors through the ports of
// package idempotency.
//
// A [Guard] runs a function under a fenced claim/complete/release protocol
// against an [idempotency.Store]:
//
//  1. Claim: atomically create an INPROGRESS record for the key with a random
//     owner token and a lease, or take over a record whose TTL or lease has
//     expired. A live record blocks the claim: a COMPLETED one is replayed
//     (its stored result is returned and the function does not run), an
//     INPROGRESS one yields [idempotency.ErrInProgress], a COMPLETED one whose payload
//     hash differs yields [idempotency.ErrPayloadMismatch].
//  2. The function runs.
//  3. Complete: the record becomes COMPLETED with the result, only if it
//     still holds this claim's owner token; otherwise [idempotency.ErrLeaseLost]. On a
//     function error the record is released (deleted, again only with the
//     owner's token) so a retry may run.
//
// Guard.ClaimAhead claims the keys of a whole batch in one request (with a
// store that implements [idempotency.BatchClaimer]), so each piece of work then needs only
// its completion; twins (two deliveries of one key in the batch) are
// answered together, one executing and the other replaying its result.
// With a store that also implements [idempotency.BatchCompleter], the completions of
// the batch's records go together too: a finished record's completion
// waits until every record of the batch that is running has finished its
// work, or [CompleteLinger] at most, then one request completes them all,
// each fenced by its own token. A record's Do returns only once its
// completion is durable.
//
// For effects that are writes to the store itself (DynamoDB), [CommitBatch]
// needs no claim: each effect's writes commit in one transaction with its
// key's COMPLETED record, many effects per request (a store that implements
// [idempotency.BatchCommitter]). A stalled worker cannot apply an effect twice, because
// there is no lease to outlive.
//
// # What is guaranteed
//
//   - At most one worker holds a live claim on a key at a time, and a worker
//     whose lease expired and was taken over can no longer complete or release
//     the record (fencing by owner token).
//   - A completed key is never executed again before its TTL expires, and a
//     duplicate costs one store request (none on a local cache hit).
//   - A store failure never lets the function run unclaimed: the Guard returns
//     an error matching [idempotency.ErrStoreFailed] and the caller retries later.
//
// # What is not guaranteed
//
// Effects outside the store can repeat if a worker dies (or stalls past its
// lease) after the effect and before Complete: the record is then taken over
// and the function runs again. Completing in batches lengthens that gap by
// at most [CompleteLinger] (10 ms) per record. For DynamoDB effects, [CommitBatch] closes
// that gap. For other downstreams, make the effect itself idempotent or
// accept the window (the lease bounds it).
//
// Leases and TTLs compare the workers' clocks with the records' times:
// workers' clocks are assumed to agree within LeaseMargin (5s by default;
// Lambda hosts keep theirs within milliseconds of UTC). A TTL shorter than
// the longest lease is refused by [Config.Validate].
//
// Keys are hashed with SHA-256 under a stable, explicit prefix before they
// reach the store, so raw business keys never land in the table; the prefix
// must not change when a function is renamed.
package guard
