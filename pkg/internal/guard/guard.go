package guard

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"

	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Func is the work guarded by a Guard. It returns the result to store and to
// replay to duplicates (nil is a valid result).
type Func func(ctx context.Context) ([]byte, error)

// Guard runs functions at most once per key (see the package documentation
// for the protocol). It is safe for concurrent use.
type Guard struct {
	store idempotency.Store
	cfg   Config
	cache *completedCache
}

// NewGuard returns a Guard over store. It fails when the config is invalid.
func NewGuard(store idempotency.Store, cfg Config) (*Guard, error) {
	if store == nil {
		return nil, errors.New("idempotency: NewGuard: store is nil")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Guard{store: store, cfg: cfg, cache: newCompletedCache(cfg.CacheSize)}, nil
}

// Do runs fn once for key. A duplicate of a completed key returns the stored
// result with OutcomeReplayed, without running fn.
//
// Errors: ErrInProgress (another worker holds the key: retry later),
// ErrPayloadMismatch (the key was completed with another payload: a permanent
// failure), a *HandlerError wrapping fn's error (the record was released, a
// retry may run), ErrLeaseLost (fn ran, but this claim had been taken over, so
// its completion was refused), or an error matching ErrStoreFailed (the store
// failed; fn did not run unless the failure was in Complete).
func (g *Guard) Do(ctx context.Context, key string, payload []byte, fn Func) (Result, error) {
	return g.do(ctx, nil, time.Time{}, key, payload, fn)
}

// do is Do with the claims of the batch (nil: none) and the time by which a
// completion or release must end (zero: FinishTimeout after ctx alone).
func (g *Guard) do(ctx context.Context, ahead *claimedAhead, finishBy time.Time, key string, payload []byte, fn Func) (Result, error) {
	return g.run(ctx, ahead, finishBy, key, payload, func(ctx context.Context) ([]byte, completion, error) {
		data, err := fn(ctx)
		return data, func(ctx context.Context, key, token string, expiresAt time.Time) error {
			return g.store.Complete(ctx, key, token, data, expiresAt)
		}, err
	})
}

// completion marks a claim completed, fenced by its token.
type completion func(ctx context.Context, key, token string, expiresAt time.Time) error

// attempt runs the guarded work and says how to complete it.
type attempt func(ctx context.Context) ([]byte, completion, error)

// run claims key, runs work under the claim, then completes the record, or
// releases it if the work fails or panics.
func (g *Guard) run(ctx context.Context, claims *claimedAhead, finishBy time.Time, key string, payload []byte, work attempt) (Result, error) {
	now := g.cfg.Clock()
	in := g.claimInput(key, payload, now, g.leaseFor(ctx))
	if rec, ok := g.cache.get(in.Key, now); ok {
		if err := idempotency.JudgeConflict(rec, in); !errors.Is(err, idempotency.ErrAlreadyCompleted) {
			return Result{}, fmt.Errorf("claim %s: %w", in.Key, err)
		}
		return Result{Outcome: OutcomeReplayed, Data: rec.Result, FromCache: true}, nil
	}
	batch, ahead, first := claims.claimed(in)
	switch {
	case ahead == nil:
		rec, err := g.store.Claim(ctx, in)
		return g.execute(ctx, finishBy, in, rec, err, work)
	case !first:
		return ahead.await(ctx, in)
	}
	// This call answers for every twin of its key in the batch: they wait
	// for its result, also when the work panics.
	answered := false
	defer func() {
		if !answered {
			ahead.answer(Result{}, errWorkPanicked)
		}
	}()
	defer batch.leave(ahead)
	if batch.bc != nil { // the completion waits for the batch's others, to go with them
		inner := work
		work = func(ctx context.Context) ([]byte, completion, error) {
			data, _, err := inner(ctx)
			if err != nil { // failed work is released, never completed: stop holding the others
				batch.leave(ahead)
			}
			return data, func(ctx context.Context, key, token string, expiresAt time.Time) error {
				return batch.complete(ctx, ahead, idempotency.CompleteInput{Key: key, Token: token, Result: data, ExpiresAt: expiresAt})
			}, err
		}
	}
	rec, err := ahead.rec, ahead.err
	if ahead.unknown { // the batch claim's answer was lost: claim again with its token
		rec, err = g.store.Claim(ctx, ahead.in)
	}
	res, err := g.execute(ctx, finishBy, ahead.in, rec, err, work)
	answered = true
	ahead.answer(res, err)
	return res, err
}

// errWorkPanicked is what the twins of a key learn when its work panicked.
var errWorkPanicked = errors.New("idempotency: the work panicked")

// execute goes on from a claim's outcome: it replays a completed record, or
// runs work under the claim and completes the record (releasing it if the
// work fails or panics).
func (g *Guard) execute(ctx context.Context, finishBy time.Time, in idempotency.ClaimInput, rec idempotency.Record, err error, work attempt) (Result, error) {
	switch {
	case err == nil:
	case errors.Is(err, idempotency.ErrAlreadyCompleted):
		g.cache.put(rec)
		return Result{Outcome: OutcomeReplayed, Data: rec.Result}, nil
	case errors.Is(err, idempotency.ErrInProgress) && !rec.LeaseUntil.IsZero():
		return Result{}, &idempotency.InProgressError{Key: in.Key, LeaseUntil: rec.LeaseUntil}
	case errors.Is(err, idempotency.ErrInProgress), errors.Is(err, idempotency.ErrPayloadMismatch):
		return Result{}, fmt.Errorf("claim %s: %w", in.Key, err)
	default:
		return Result{}, &idempotency.StoreError{Op: "claim", Key: in.Key, Err: err}
	}

	returned := false
	defer func() {
		if !returned { // the work panicked: free the key for a retry, then re-panic
			_ = g.release(ctx, finishBy, in)
		}
	}()
	data, complete, err := work(ctx)
	returned = true
	if err != nil && cutShort(ctx, err) {
		// The work ended because its context did (the invocation's
		// deadline): it may have had its effect before it saw that, so the
		// claim is kept. Its lease ends it; a redelivery then takes the key
		// over, as after a worker that stalled.
		return Result{}, &HandlerError{Err: err}
	}
	if err != nil {
		return Result{}, &HandlerError{Err: err, Released: g.release(ctx, finishBy, in) == nil}
	}

	fctx, cancel := g.finishContext(ctx, finishBy)
	defer cancel()
	expiresAt := g.cfg.Clock().Add(g.cfg.TTL)
	switch err := complete(fctx, in.Key, in.Token, expiresAt); {
	case err == nil:
		g.cache.put(idempotency.Record{Key: in.Key, Status: idempotency.StatusCompleted, ExpiresAt: expiresAt, PayloadHash: in.PayloadHash, Result: data})
		return Result{Outcome: OutcomeExecuted, Data: data}, nil
	case errors.Is(err, idempotency.ErrLeaseLost):
		return Result{Outcome: OutcomeExecuted, Data: data}, fmt.Errorf("complete %s: %w", in.Key, err)
	default:
		return Result{Outcome: OutcomeExecuted, Data: data}, &idempotency.StoreError{Op: "complete", Key: in.Key, Err: err}
	}
}

// finishContext lives as long as ctx and then FinishTimeout more, so that
// finished work is still recorded (and failed work released) when the
// caller's context ends (the Lambda deadline) just as the work returns. It
// never outlives the finishBy time of ClaimAhead (zero: none).
func (g *Guard) finishContext(ctx context.Context, finishBy time.Time) (context.Context, context.CancelFunc) {
	base, cancelBy := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if !finishBy.IsZero() {
		base, cancelBy = context.WithDeadline(base, finishBy)
	}
	fctx, cancel := context.WithCancel(base)
	var mu sync.Mutex
	var grace *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		grace = time.AfterFunc(g.cfg.FinishTimeout, cancel)
	})
	return fctx, func() {
		stop()
		mu.Lock()
		if grace != nil {
			grace.Stop()
		}
		mu.Unlock()
		cancel()
		cancelBy()
	}
}

func (g *Guard) release(ctx context.Context, finishBy time.Time, in idempotency.ClaimInput) error {
	fctx, cancel := g.finishContext(ctx, finishBy)
	defer cancel()
	return g.store.Release(fctx, in.Key, in.Token)
}

// claimInput is the claim of key for payload at now.
func (g *Guard) claimInput(key string, payload []byte, now time.Time, lease time.Duration) idempotency.ClaimInput {
	in := idempotency.ClaimInput{
		Key:        idempotency.StoredKey(g.cfg.KeyPrefix, key),
		Token:      rand.Text(),
		Now:        now,
		LeaseUntil: now.Add(lease),
		// A claim never expires before its lease: a context whose deadline
		// lies beyond the TTL (outside Lambda) would otherwise let a second
		// worker take a live claim over.
		ExpiresAt: now.Add(max(g.cfg.TTL, lease)),
	}
	if !g.cfg.SkipPayloadValidation {
		in.PayloadHash = idempotency.PayloadHash(payload)
	}
	return in
}

// leaseFor is the lease of a claim made under ctx.
func (g *Guard) leaseFor(ctx context.Context) time.Duration {
	lease := g.cfg.Lease
	if lease == 0 {
		lease = LeaseWithoutDeadlineDefault
		if deadline, ok := ctx.Deadline(); ok {
			lease = time.Until(deadline) + g.cfg.LeaseMargin
		}
	}
	return max(lease, g.cfg.MinLease)
}

// cutShort reports whether err is the work's own context ending, which
// leaves unknown whether the work had its effect.
func cutShort(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// HandlerError wraps the error returned by the guarded function, so callers
// can tell a failed effect from a failed protocol step. The record was
// released, so a retry runs the function again; Released is false when the
// release failed, or when the function was cut short by its own context
// (its error is the context's, and the context ended), which leaves unknown
// whether it had its effect: the claim is then kept until its lease ends.
type HandlerError struct {
	Err      error
	Released bool
}

func (e *HandlerError) Error() string { return "idempotency: handler: " + e.Err.Error() }

func (e *HandlerError) Unwrap() error { return e.Err }
