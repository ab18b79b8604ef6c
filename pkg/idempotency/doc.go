// Package idempotency is the port between sqsonce and an idempotency store:
// the [Store] interface and its optional batch interfaces, the [Record] a
// store keeps per key, and the errors a store returns. Users of sqsonce need
// it only to pick a store (dynamostore, redisstore, memstore in tests) and
// to match errors ([ErrStoreFailed], [ErrInProgress], ...); the protocol
// that runs work once over a store lives in sqsonce ([sqsonce.New],
// [sqsonce.NewDynamoDB], [sqsonce.Once]).
//
// # Writing a store
//
// A store keeps one [Record] per stored key (see [StoredKey]: prefix and
// SHA-256, so raw business keys never reach it) and implements:
//
//   - Claim: atomically create an INPROGRESS record with the input's owner
//     token and lease, or take over a record whose TTL or lease has expired.
//     A live record blocks the claim: the store returns it with the error
//     [JudgeConflict] gives ([ErrAlreadyCompleted], [ErrInProgress],
//     [ErrPayloadMismatch]). Of concurrent claims on one key, at most one
//     succeeds.
//   - Complete: make the record COMPLETED with a result and a TTL, only if it
//     is INPROGRESS under the given token; otherwise [ErrLeaseLost] and
//     nothing is written (fencing: a worker whose lease was taken over can
//     no longer complete).
//   - Release: delete the record, again only under the given token.
//   - Get: read a record ([ErrNotFound] when there is none).
//
// Optional interfaces make a batch cheaper: [BatchClaimer] (a batch's claims
// in few requests), [BatchCompleter] (its completions, each fenced by its
// own token) and [BatchCommitter] (effects made of the store's own writes
// committed atomically with their COMPLETED records, with no claim: the
// path of [sqsonce.NewDynamoDB]).
//
// Any error that is not one of the protocol's is a store failure: sqsonce
// wraps it in a [StoreError] (matching [ErrStoreFailed]), runs no work
// unclaimed, and has the message retried. Package storetest runs the
// contract's tests against a store: every store of this module passes them.
//
// Times (now, lease, TTL) are given by the caller in each input, so a store
// compares them with its records and never reads its own clock for the
// protocol; workers' clocks are assumed to agree within the lease margin
// (5 s).
package idempotency
