package idempotency

import (
	"context"
	"fmt"
	"time"
)

// BatchClaimer is a Store that can claim many keys in few requests. Each
// input is judged exactly as Claim judges it, and the claims are as atomic
// as Claim's: of concurrent claims on one key, at most one succeeds.
type BatchClaimer interface {
	// ClaimBatch returns one outcome per input, in order. An outcome's Err is
	// nil (claimed, Record is what was written) or one of Claim's errors
	// (ErrAlreadyCompleted, ErrInProgress, ErrPayloadMismatch, with the live
	// record), or any other error for an input the store could not claim
	// (the caller then claims it alone). Inputs have distinct keys.
	ClaimBatch(ctx context.Context, in []ClaimInput) ([]ClaimOutcome, error)
}

// ClaimOutcome is the outcome of one input of ClaimBatch.
type ClaimOutcome struct {
	Record Record
	Err    error
}

// BatchCompleter is a Store that can complete many claims in few requests.
// Each input is judged exactly as Complete judges it, fenced by its own
// token: one input refused (its lease taken over) never fails the others.
type BatchCompleter interface {
	// CompleteBatch returns one error per input, in order: nil once the
	// completion is durable (or the record was already COMPLETED under the
	// input's token), ErrLeaseLost when the record is not INPROGRESS under
	// the token (nothing written), or any other error for an input the
	// store could not complete (it may or may not have been written, as
	// with a failed Complete). Inputs have distinct keys.
	CompleteBatch(ctx context.Context, in []CompleteInput) []error
}

// CompleteInput is one completion of CompleteBatch: Complete's arguments.
type CompleteInput struct {
	Key       string
	Token     string
	Result    []byte
	ExpiresAt time.Time
}

// CommitInput is one key recorded COMPLETED together with its writes, at
// once and without a separate claim (see BatchCommitter).
type CommitInput[W any] struct {
	Key         string    // the stored key
	PayloadHash string    // empty when payload validation is off
	Result      []byte    // replayed to duplicates
	Now         time.Time // the committer's clock, for the condition
	ExpiresAt   time.Time // the record's TTL
	Writes      []W       // the effect: writes of the store's own kind
}

// CommitOutcome is the outcome of one input of CommitBatch.
type CommitOutcome struct {
	// Record is the live record that blocked the input, when Err is one of
	// Claim's errors.
	Record Record
	// Err is nil (the record and every write of the input committed), one
	// of Claim's errors (ErrAlreadyCompleted, ErrInProgress,
	// ErrPayloadMismatch: nothing of the input was written), a
	// *WriteConditionError (nothing written), ErrContended, or another
	// error: a store failure, after which the input may or may not have
	// committed (a redelivery then finds the record and replays it).
	Err error
}

// BatchCommitter is a Store that can commit effects made of writes of type
// W atomically with the records of their keys, many keys per request. The
// contract, checked by storetest.RunCommit:
//
//   - An input commits whole or not at all: its record (COMPLETED, with its
//     result, hash and TTL) and all of its writes.
//   - The record is written under Claim's condition: the key has no record,
//     or its record expired, or it is INPROGRESS with an expired lease (a
//     crashed claimer, whose fenced completion then fails). Otherwise
//     nothing of the input is written and its outcome is the live record
//     with JudgeConflict's error.
//   - When one of the input's own writes fails its condition, nothing of the
//     input is written and the outcome is a *WriteConditionError.
//   - Inputs have distinct keys; one input's outcome never depends on
//     another's, however the store groups them.
//   - Contention (transaction conflicts, throttling) is retried with
//     backoff while ctx lives; what outlasts the retries is ErrContended.
type BatchCommitter[W any] interface {
	CommitBatch(ctx context.Context, in []CommitInput[W]) []CommitOutcome
}

// WriteConditionError means that one of an effect's own writes failed its
// condition (an item that must not exist yet exists, say): nothing of the
// effect was written. Whether that means "already done", a conflict or a
// reason to retry is the caller's to judge, from Existing.
type WriteConditionError struct {
	// Index is the write's index in the effect's writes.
	Index int
	// Existing is the item as the store holds it, in the store's own
	// representation (dynamostore: map[string]types.AttributeValue), or
	// nil when the store cannot say.
	Existing any
}

func (e *WriteConditionError) Error() string {
	return fmt.Sprintf("idempotency: write %d of the effect failed its condition", e.Index)
}
