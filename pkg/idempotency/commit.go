package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"
)

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

// TxItem is one effect for CommitBatch: the writes that apply it, and the
// result stored for (and replayed to) its duplicates.
type TxItem[W any] struct {
	Key     string // the business key
	Payload []byte // validated against the payload of earlier deliveries
	Result  []byte
	Writes  []W
}

// TxResult is the outcome of one TxItem.
type TxResult struct {
	Result Result
	// Err is nil or, as with Do: ErrInProgress, ErrPayloadMismatch, an
	// error matching ErrStoreFailed; and, for the store's writes: a
	// *WriteConditionError or ErrContended.
	Err error
}

// CommitBatch applies effects made of writes to the Guard's store itself,
// each atomically with its key's completion, many per request: a new key
// costs a share of one request and no claim, a duplicate is replayed from
// the record that blocked it (or from the local cache, without a request).
// Items of one key (a producer retry in the same batch) are answered
// together: the first commits, the others replay its result.
//
// There is no lease to lose: an effect and its record commit in one atomic
// step, so a worker that stalls can never apply an effect that another
// applied. The store must implement BatchCommitter[W] (dynamostore.Store
// does, with W = dynamostore.Write); otherwise every item fails with
// ErrTxUnsupported.
func CommitBatch[W any](ctx context.Context, g *Guard, items []TxItem[W]) []TxResult {
	out := make([]TxResult, len(items))
	bc, ok := g.store.(BatchCommitter[W])
	if !ok {
		err := fmt.Errorf("%w: %T does not implement BatchCommitter[%T]", ErrTxUnsupported, g.store, *new(W))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	now := g.cfg.Clock()
	expiresAt := now.Add(g.cfg.TTL)
	ins := make([]CommitInput[W], len(items))
	var send []int            // indices of the items committed
	first := map[string]int{} // stored key -> index of its first item
	twins := map[int]int{}    // index -> index of its first item
	for i, it := range items {
		in := g.claimInput(it.Key, it.Payload, now, 0)
		ins[i] = CommitInput[W]{Key: in.Key, PayloadHash: in.PayloadHash, Result: it.Result, Now: now, ExpiresAt: expiresAt, Writes: it.Writes}
		if rec, ok := g.cache.get(in.Key, now); ok {
			out[i] = replayOf(rec, in, true)
			continue
		}
		if f, seen := first[in.Key]; seen {
			twins[i] = f
			continue
		}
		first[in.Key] = i
		send = append(send, i)
	}
	if len(send) > 0 {
		batch := make([]CommitInput[W], len(send))
		for k, i := range send {
			batch[k] = ins[i]
		}
		for k, o := range bc.CommitBatch(ctx, batch) {
			i := send[k]
			in := ClaimInput{Key: ins[i].Key, PayloadHash: ins[i].PayloadHash}
			switch err := o.Err; {
			case err == nil:
				g.cache.put(Record{Key: in.Key, Status: StatusCompleted, ExpiresAt: expiresAt, PayloadHash: in.PayloadHash, Result: ins[i].Result})
				out[i].Result = Result{Outcome: OutcomeExecuted, Data: ins[i].Result}
			case errors.Is(err, ErrAlreadyCompleted):
				out[i] = replayOf(o.Record, in, false)
			case errors.Is(err, ErrInProgress), errors.Is(err, ErrPayloadMismatch), errors.Is(err, ErrContended),
				errors.As(err, new(*WriteConditionError)):
				out[i].Err = fmt.Errorf("commit %s: %w", in.Key, err)
			default:
				out[i].Err = &StoreError{Op: "commit", Key: in.Key, Err: err}
			}
		}
	}
	for i, f := range twins {
		out[i].Result, out[i].Err = twinOf(out[f].Result, out[f].Err, ins[f].PayloadHash, ClaimInput{Key: ins[i].Key, PayloadHash: ins[i].PayloadHash})
	}
	return out
}

// replayOf answers a delivery whose key a completed record holds.
func replayOf(rec Record, in ClaimInput, fromCache bool) TxResult {
	if err := JudgeConflict(rec, in); !errors.Is(err, ErrAlreadyCompleted) {
		return TxResult{Err: fmt.Errorf("commit %s: %w", in.Key, err)}
	}
	return TxResult{Result: Result{Outcome: OutcomeReplayed, Data: rec.Result, FromCache: fromCache}}
}

// twinOf answers a delivery of a key that another delivery of the same
// batch (its twin, with payload hash hash) handled: a replay of its result
// if it succeeded, a failure to retry if it failed.
func twinOf(res Result, err error, hash string, in ClaimInput) (Result, error) {
	switch {
	case err != nil:
		return Result{}, fmt.Errorf("claim %s: %w (its twin in this batch failed: %v)", in.Key, ErrInProgress, err)
	case !errors.Is(JudgeConflict(Record{Status: StatusCompleted, PayloadHash: hash}, in), ErrAlreadyCompleted):
		return Result{}, fmt.Errorf("claim %s: %w", in.Key, ErrPayloadMismatch)
	}
	return Result{Outcome: OutcomeReplayed, Data: res.Data}, nil
}
