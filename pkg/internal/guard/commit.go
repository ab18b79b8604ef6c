package guard

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"

	"context"
	"errors"
	"fmt"
)

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
	bc, ok := g.store.(idempotency.BatchCommitter[W])
	if !ok {
		err := fmt.Errorf("%w: %T does not implement BatchCommitter[%T]", idempotency.ErrTxUnsupported, g.store, *new(W))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	now := g.cfg.Clock()
	expiresAt := now.Add(g.cfg.TTL)
	ins := make([]idempotency.CommitInput[W], len(items))
	var send []int            // indices of the items committed
	first := map[string]int{} // stored key -> index of its first item
	twins := map[int]int{}    // index -> index of its first item
	for i, it := range items {
		in := g.claimInput(it.Key, it.Payload, now, 0)
		ins[i] = idempotency.CommitInput[W]{Key: in.Key, PayloadHash: in.PayloadHash, Result: it.Result, Now: now, ExpiresAt: expiresAt, Writes: it.Writes}
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
		batch := make([]idempotency.CommitInput[W], len(send))
		for k, i := range send {
			batch[k] = ins[i]
		}
		for k, o := range bc.CommitBatch(ctx, batch) {
			i := send[k]
			in := idempotency.ClaimInput{Key: ins[i].Key, PayloadHash: ins[i].PayloadHash}
			switch err := o.Err; {
			case err == nil:
				g.cache.put(idempotency.Record{Key: in.Key, Status: idempotency.StatusCompleted, ExpiresAt: expiresAt, PayloadHash: in.PayloadHash, Result: ins[i].Result})
				out[i].Result = Result{Outcome: OutcomeExecuted, Data: ins[i].Result}
			case errors.Is(err, idempotency.ErrAlreadyCompleted):
				out[i] = replayOf(o.Record, in, false)
			case errors.Is(err, idempotency.ErrInProgress), errors.Is(err, idempotency.ErrPayloadMismatch), errors.Is(err, idempotency.ErrContended),
				errors.As(err, new(*idempotency.WriteConditionError)):
				out[i].Err = fmt.Errorf("commit %s: %w", in.Key, err)
			default:
				out[i].Err = &idempotency.StoreError{Op: "commit", Key: in.Key, Err: err}
			}
		}
	}
	for i, f := range twins {
		out[i].Result, out[i].Err = twinOf(out[f].Result, out[f].Err, ins[f].PayloadHash, idempotency.ClaimInput{Key: ins[i].Key, PayloadHash: ins[i].PayloadHash})
	}
	return out
}

// replayOf answers a delivery whose key a completed record holds.
func replayOf(rec idempotency.Record, in idempotency.ClaimInput, fromCache bool) TxResult {
	if err := idempotency.JudgeConflict(rec, in); !errors.Is(err, idempotency.ErrAlreadyCompleted) {
		return TxResult{Err: fmt.Errorf("commit %s: %w", in.Key, err)}
	}
	return TxResult{Result: Result{Outcome: OutcomeReplayed, Data: rec.Result, FromCache: fromCache}}
}

// twinOf answers a delivery of a key that another delivery of the same
// batch (its twin, with payload hash hash) handled: a replay of its result
// if it succeeded, a failure to retry if it failed.
func twinOf(res Result, err error, hash string, in idempotency.ClaimInput) (Result, error) {
	switch {
	case err != nil:
		return Result{}, fmt.Errorf("claim %s: %w (its twin in this batch failed: %v)", in.Key, idempotency.ErrInProgress, err)
	case !errors.Is(idempotency.JudgeConflict(idempotency.Record{Status: idempotency.StatusCompleted, PayloadHash: hash}, in), idempotency.ErrAlreadyCompleted):
		return Result{}, fmt.Errorf("claim %s: %w", in.Key, idempotency.ErrPayloadMismatch)
	}
	return Result{Outcome: OutcomeReplayed, Data: res.Data}, nil
}
