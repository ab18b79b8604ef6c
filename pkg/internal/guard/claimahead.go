package guard

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"

	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Item is one unit of work of a batch, for ClaimAhead.
type Item struct {
	Key     string
	Payload []byte
}

// ClaimAhead claims the keys of a batch before its work runs, in as few
// requests as the store allows (one TransactWriteItems per 100 keys with
// dynamostore), and returns a context that Do consults: an item claimed
// ahead runs without a claim request of its own, and one found completed is
// replayed without a request. Work then needs one round trip (the
// completion) instead of two, however many records a batch has; with a
// store that implements BatchCompleter, the completions of the records
// running together share one request (see CompleteLinger for how long one
// waits for the others).
//
// Twins (items of one key and payload in the batch: a producer retry) are
// answered together: the first to run executes, the others wait for it and
// replay its result, so neither is failed as in progress against its own
// batch's claim.
//
// If the store could not say how a claim ended (a lost answer, a timeout),
// the claim may have been written: the item then claims again with the same
// owner token, so it recognises its own claim instead of waiting for the
// lease to end.
//
// Run the batch's items with the returned Claims' Do. finishBy, when not
// zero, is the time by which their completions and releases must end, even
// within FinishTimeout after their context ended (a batch processor's point
// of reporting records still running), so that a completion never commits
// after its record was reported failed.
//
// Call Release when the batch ends: it frees the claims whose work never ran
// under them (records skipped after a FIFO failure, cut by the deadline, or
// failed before reaching the guard), so their redelivery need not wait for
// the lease. Items whose payload differs from the one claimed, and every item
// when the store is not a BatchClaimer, go through Do's own claim.
func (g *Guard) ClaimAhead(ctx context.Context, items []Item, finishBy time.Time) *Claims {
	claims := &Claims{g: g, ctx: ctx, finishBy: finishBy}
	bc, ok := g.store.(idempotency.BatchClaimer)
	if !ok || len(items) == 0 {
		return claims
	}
	now := g.cfg.Clock()
	lease := g.leaseFor(ctx)
	inputs := make([]idempotency.ClaimInput, 0, len(items))
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
		return claims
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
		outcomes = make([]idempotency.ClaimOutcome, len(inputs)) // every outcome unknown
		for i := range outcomes {
			outcomes[i].Err = errors.Join(errBatchClaimFailed, err)
		}
	}
	ahead := &claimedAhead{claims: make(map[string]*aheadClaim, len(inputs)), store: g.store}
	ahead.bc, _ = g.store.(idempotency.BatchCompleter)
	for i, o := range outcomes {
		c := &aheadClaim{in: inputs[i], rec: o.Record, err: o.Err, done: make(chan struct{})}
		switch {
		case o.Err == nil, errors.Is(o.Err, idempotency.ErrAlreadyCompleted), errors.Is(o.Err, idempotency.ErrInProgress), errors.Is(o.Err, idempotency.ErrPayloadMismatch):
		default:
			c.unknown, c.err = true, nil
		}
		ahead.claims[inputs[i].Key] = c
	}
	claims.ahead = ahead
	return claims
}

// Claims are the claims ClaimAhead made for one batch.
type Claims struct {
	g        *Guard
	ctx      context.Context // the batch's
	ahead    *claimedAhead   // nil when nothing was claimed ahead
	finishBy time.Time
}

// Do runs fn once for key, as Guard.Do does, under the claim made ahead for
// key when there is one.
func (c *Claims) Do(ctx context.Context, key string, payload []byte, fn Func) (Result, error) {
	return c.g.do(ctx, c.ahead, c.finishBy, key, payload, fn)
}

// Release frees the claims whose work never ran under them.
func (c *Claims) Release() {
	if c.ahead != nil {
		c.g.releaseUnused(c.ctx, c.ahead)
	}
}

var errBatchClaimFailed = errors.New("idempotency: batch claim failed")

// claimedAhead holds the outcomes of a ClaimAhead, each taken by one Do,
// and the completions of those Dos waiting to be sent together (with a
// store that implements BatchCompleter).
type claimedAhead struct {
	store idempotency.Store
	bc    idempotency.BatchCompleter // nil: each Do completes alone

	mu      sync.Mutex
	claims  map[string]*aheadClaim
	running int   // Dos that took a claim and have not finished their work
	open    *wave // completions waiting to be sent, nil when none
}

// aheadClaim is the batch claim of one key, and then the answer of the Do
// that took it.
type aheadClaim struct {
	in      idempotency.ClaimInput
	rec     idempotency.Record
	err     error
	unknown bool // the store could not say: claim again with in.Token
	taken   bool
	left    bool // the Do that took it no longer counts as running

	done   chan struct{} // closed by answer
	result Result
	resErr error
}

// take hands the claim for in's key to the first Do of that key and
// payload (first is true), and the same claim to later ones, its twins,
// which wait for the first's answer. A Do with another payload gets none.
func (a *claimedAhead) take(in idempotency.ClaimInput) (c *aheadClaim, first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.claims[in.Key]
	switch {
	case !ok:
		return nil, false
	case c.taken:
		return c, false
	case c.in.PayloadHash != in.PayloadHash:
		return nil, false
	}
	c.taken = true
	a.running++
	return c, true
}

// answer records the result of the Do that took the claim, for its twins.
func (c *aheadClaim) answer(res Result, err error) {
	c.result, c.resErr = res, err
	close(c.done)
}

// await waits for the twin that took the claim and answers as a duplicate
// of it: a replay of its result, or a failure to retry if it failed.
func (c *aheadClaim) await(ctx context.Context, in idempotency.ClaimInput) (Result, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("claim %s: waiting for its twin in this batch: %w", in.Key, ctx.Err())
	}
	return twinOf(c.result, c.resErr, c.in.PayloadHash, in)
}

// claimAheadShare is the part of the time left that a batch claim may take
// (a quarter).
const claimAheadShare = 4

// releaseUnused releases, a few at a time, the claims no Do took (including
// those whose outcome is unknown: a claim that was never written is not
// released, a release being fenced by its token). It spends at most
// FinishTimeout, and nothing when less than that is left before ctx's
// deadline: the claims' leases end on their own, and the invocation must
// return before its deadline.
func (g *Guard) releaseUnused(ctx context.Context, a *claimedAhead) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < g.cfg.FinishTimeout {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.FinishTimeout)
	defer cancel()
	a.mu.Lock()
	var unused []idempotency.ClaimInput
	for _, c := range a.claims {
		if !c.taken && (c.err == nil || c.unknown) {
			c.taken = true
			unused = append(unused, c.in)
		}
	}
	a.mu.Unlock()
	sem := make(chan struct{}, releaseConcurrency)
	var wg sync.WaitGroup
	for _, in := range unused {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = g.store.Release(ctx, in.Key, in.Token)
		})
	}
	wg.Wait()
}

// releaseConcurrency bounds the releases in flight at the end of a batch.
const releaseConcurrency = 8

// claimed returns a (nil: no claims ahead), the claim in it for in's key, if
// any, and whether this call is the first to take it.
func (a *claimedAhead) claimed(in idempotency.ClaimInput) (*claimedAhead, *aheadClaim, bool) {
	if a == nil {
		return nil, nil, false
	}
	c, first := a.take(in)
	return a, c, first
}
