package idempotency

import (
	"context"
	"errors"
	"sync"
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

// Item is one unit of work of a batch, for ClaimAhead.
type Item struct {
	Key     string
	Payload []byte
}

// ClaimAhead claims the keys of a batch before its work runs, in as few
// requests as the store allows (one TransactWriteItems per 100 keys with
// dynamostore), and returns a context that Do and DoTx consult: an item
// claimed ahead runs without a claim request of its own, and one found
// completed is replayed without a request. Work then needs one round trip
// (the completion) instead of two, however many records a batch has.
//
// Call release when the batch ends: it frees the claims whose work never ran
// under them (records skipped after a FIFO failure, cut by the deadline, or
// failed before reaching the guard), so their redelivery need not wait for
// the lease. Only the first item of a key is claimed ahead; duplicates in the
// batch, items whose payload differs from the one claimed, and every item when
// the store is not a BatchClaimer or the batch claim fails, go through Do's
// own claim, so ClaimAhead never changes what happens, only what it costs.
func (g *Guard) ClaimAhead(ctx context.Context, items []Item) (_ context.Context, release func()) {
	bc, ok := g.store.(BatchClaimer)
	if !ok || len(items) == 0 {
		return ctx, func() {}
	}
	now := g.cfg.Clock()
	lease := g.leaseFor(ctx)
	inputs := make([]ClaimInput, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		in := g.claimInput(it.Key, it.Payload, now, lease)
		if seen[in.Key] {
			continue
		}
		seen[in.Key] = true
		if _, cached := g.cache.get(in.Key, now); cached {
			continue
		}
		inputs = append(inputs, in)
	}
	if len(inputs) == 0 {
		return ctx, func() {}
	}
	// The batch claim may take a share of the time left, no more: if the
	// store stalls, the records still have time to claim for themselves
	// (or to be reported before the deadline).
	cctx, cancel := context.WithCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		cctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/claimAheadShare)
	}
	outcomes, err := bc.ClaimBatch(cctx, inputs)
	cancel()
	if err != nil || len(outcomes) != len(inputs) {
		return ctx, func() {}
	}
	ahead := &claimedAhead{claims: make(map[string]*aheadClaim, len(inputs))}
	for i, o := range outcomes {
		switch {
		case o.Err == nil, errors.Is(o.Err, ErrAlreadyCompleted), errors.Is(o.Err, ErrInProgress), errors.Is(o.Err, ErrPayloadMismatch):
			ahead.claims[inputs[i].Key] = &aheadClaim{in: inputs[i], rec: o.Record, err: o.Err}
		}
	}
	return context.WithValue(ctx, aheadKey{g}, ahead), func() { g.releaseUnused(ctx, ahead) }
}

// aheadKey keys a Guard's claims in a context, so guards never share them.
type aheadKey struct{ g *Guard }

// claimedAhead holds the outcomes of a ClaimAhead, each taken at most once.
type claimedAhead struct {
	mu     sync.Mutex
	claims map[string]*aheadClaim
}

type aheadClaim struct {
	in    ClaimInput
	rec   Record
	err   error
	taken bool
}

// take hands the outcome for in's key to one Do, if it was made for the
// same payload.
func (a *claimedAhead) take(in ClaimInput) (*aheadClaim, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.claims[in.Key]
	if !ok || c.taken || c.in.PayloadHash != in.PayloadHash {
		return nil, false
	}
	c.taken = true
	return c, true
}

// claimAheadShare is the part of the time left that a batch claim may take
// (a quarter).
const claimAheadShare = 4

// releaseUnused releases, a few at a time, the claims no Do took. It spends
// at most FinishTimeout, and nothing when less than that is left before
// ctx's deadline: the claims' leases end on their own, and the invocation
// must return before its deadline.
func (g *Guard) releaseUnused(ctx context.Context, a *claimedAhead) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < g.cfg.FinishTimeout {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.FinishTimeout)
	defer cancel()
	a.mu.Lock()
	var unused []ClaimInput
	for _, c := range a.claims {
		if !c.taken && c.err == nil {
			c.taken = true
			unused = append(unused, c.in)
		}
	}
	a.mu.Unlock()
	sem := make(chan struct{}, releaseConcurrency)
	var wg sync.WaitGroup
	for _, in := range unused {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = g.store.Release(ctx, in.Key, in.Token)
		}()
	}
	wg.Wait()
}

// releaseConcurrency bounds the releases in flight at the end of a batch.
const releaseConcurrency = 8

// claimed returns the outcome of a claim made ahead for in, if any.
func (g *Guard) claimed(ctx context.Context, in ClaimInput) (*aheadClaim, bool) {
	a, ok := ctx.Value(aheadKey{g}).(*claimedAhead)
	if !ok {
		return nil, false
	}
	return a.take(in)
}
