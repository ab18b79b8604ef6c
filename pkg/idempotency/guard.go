package idempotency

import (
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
	store Store
	cfg   Config
	cache *completedCache
}

// NewGuard returns a Guard over store. It fails when the config is invalid.
func NewGuard(store Store, cfg Config) (*Guard, error) {
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
	return g.run(ctx, key, payload, func(ctx context.Context) ([]byte, completion, error) {
		data, err := fn(ctx)
		return data, func(ctx context.Context, key, token string, expiresAt time.Time) error {
			return g.store.Complete(ctx, key, token, data, expiresAt)
		}, err
	})
}

// DoTx is Do for effects that are writes to the store itself: fn returns the
// result and the writes, and the Guard's store commits them together with the
// completion in one transaction. If the claim was taken over meanwhile,
// nothing is written and the error is ErrLeaseLost: the effect happens exactly
// once even when a worker stalls past its lease. The Guard's store must
// implement TxCompleter[W] (dynamostore.Store does, with
// W = types.TransactWriteItem); otherwise DoTx returns ErrTxUnsupported
// without claiming.
func DoTx[W any](ctx context.Context, g *Guard, key string, payload []byte, fn func(ctx context.Context) ([]byte, []W, error)) (Result, error) {
	tx, ok := g.store.(TxCompleter[W])
	if !ok {
		return Result{}, fmt.Errorf("%w: %T does not implement TxCompleter[%T]", ErrTxUnsupported, g.store, *new(W))
	}
	return g.run(ctx, key, payload, func(ctx context.Context) ([]byte, completion, error) {
		data, writes, err := fn(ctx)
		return data, func(ctx context.Context, key, token string, expiresAt time.Time) error {
			err := tx.CompleteTx(ctx, key, token, data, expiresAt, writes)
			if err != nil && !errors.Is(err, ErrLeaseLost) {
				// The transaction wrote nothing (or it did commit and the
				// record is COMPLETED, so this release is refused): free the
				// key so the retry runs without waiting for the lease.
				_ = g.store.Release(ctx, key, token)
			}
			return err
		}, err
	})
}

// completion marks a claim completed, fenced by its token.
type completion func(ctx context.Context, key, token string, expiresAt time.Time) error

// attempt runs the guarded work and says how to complete it.
type attempt func(ctx context.Context) ([]byte, completion, error)

// run claims key, runs work under the claim, then completes the record, or
// releases it if the work fails or panics.
func (g *Guard) run(ctx context.Context, key string, payload []byte, work attempt) (Result, error) {
	now := g.cfg.Clock()
	in := g.claimInput(key, payload, now, g.leaseFor(ctx))
	if rec, ok := g.cache.get(in.Key, now); ok {
		if err := JudgeConflict(rec, in); !errors.Is(err, ErrAlreadyCompleted) {
			return Result{}, fmt.Errorf("claim %s: %w", in.Key, err)
		}
		return Result{Outcome: OutcomeReplayed, Data: rec.Result, FromCache: true}, nil
	}

	var rec Record
	var err error
	if ahead, ok := g.claimed(ctx, in); ok {
		in, rec, err = ahead.in, ahead.rec, ahead.err
	} else {
		rec, err = g.store.Claim(ctx, in)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrAlreadyCompleted):
		g.cache.put(rec)
		return Result{Outcome: OutcomeReplayed, Data: rec.Result}, nil
	case errors.Is(err, ErrInProgress), errors.Is(err, ErrPayloadMismatch):
		return Result{}, fmt.Errorf("claim %s: %w", in.Key, err)
	default:
		return Result{}, &StoreError{Op: "claim", Key: in.Key, Err: err}
	}

	returned := false
	defer func() {
		if !returned { // the work panicked: free the key for a retry, then re-panic
			_ = g.release(ctx, in)
		}
	}()
	data, complete, err := work(ctx)
	returned = true
	if err != nil {
		return Result{}, &HandlerError{Err: err, Released: g.release(ctx, in) == nil}
	}

	fctx, cancel := g.finishContext(ctx)
	defer cancel()
	expiresAt := g.cfg.Clock().Add(g.cfg.TTL)
	switch err := complete(fctx, in.Key, in.Token, expiresAt); {
	case err == nil:
		g.cache.put(Record{Key: in.Key, Status: StatusCompleted, ExpiresAt: expiresAt, PayloadHash: in.PayloadHash, Result: data})
		return Result{Outcome: OutcomeExecuted, Data: data}, nil
	case errors.Is(err, ErrLeaseLost):
		return Result{Outcome: OutcomeExecuted, Data: data}, fmt.Errorf("complete %s: %w", in.Key, err)
	default:
		return Result{Outcome: OutcomeExecuted, Data: data}, &StoreError{Op: "complete", Key: in.Key, Err: err}
	}
}

// finishContext lives as long as ctx and then FinishTimeout more, so that
// finished work is still recorded (and failed work released) when the
// caller's context ends (the Lambda deadline) just as the work returns.
func (g *Guard) finishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
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
	}
}

func (g *Guard) release(ctx context.Context, in ClaimInput) error {
	fctx, cancel := g.finishContext(ctx)
	defer cancel()
	return g.store.Release(fctx, in.Key, in.Token)
}

// claimInput is the claim of key for payload at now.
func (g *Guard) claimInput(key string, payload []byte, now time.Time, lease time.Duration) ClaimInput {
	in := ClaimInput{
		Key:        StoredKey(g.cfg.KeyPrefix, key),
		Token:      rand.Text(),
		Now:        now,
		LeaseUntil: now.Add(lease),
		ExpiresAt:  now.Add(g.cfg.TTL),
	}
	if !g.cfg.SkipPayloadValidation {
		in.PayloadHash = PayloadHash(payload)
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
