package guard_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// completeCounting counts the completions of a BatchCompleter store and the
// sizes of its batches.
type completeCounting struct {
	*memstore.Store
	completes atomic.Int32
	mu        sync.Mutex
	batches   []int
}

func (s *completeCounting) Complete(ctx context.Context, key, token string, result []byte, exp time.Time) error {
	s.completes.Add(1)
	return s.Store.Complete(ctx, key, token, result, exp)
}

func (s *completeCounting) CompleteBatch(ctx context.Context, in []idempotency.CompleteInput) []error {
	s.mu.Lock()
	s.batches = append(s.batches, len(in))
	s.mu.Unlock()
	return s.Store.CompleteBatch(ctx, in)
}

func (s *completeCounting) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

// barrier returns a func that blocks until n goroutines have called it, so
// the records of a test are all running before any finishes.
func barrier(n int) func() {
	var wg sync.WaitGroup
	wg.Add(n)
	return func() { wg.Done(); wg.Wait() }
}

// doAll runs Do for each key at once under ctx and returns each outcome.
func doAll(ctx context.Context, g interface {
	Do(context.Context, string, []byte, guard.Func) (guard.Result, error)
}, keys []string, fn func(key string) guard.Func) ([]guard.Result, []error) {
	res, errs := make([]guard.Result, len(keys)), make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { res[i], errs[i] = g.Do(ctx, k, []byte("p-"+k), fn(k)) })
	}
	wg.Wait()
	return res, errs
}

// The records of a batch that run together complete in one request, each
// Do answered only once its completion is durable.
func TestCompletionsOfABatchGoTogether(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := &completeCounting{Store: memstore.New(memstore.WithLatency(10 * time.Millisecond))}
		g := newGuard(t, store, nil)
		keys := []string{"a", "b", "c", "d", "e"}
		claims := g.ClaimAhead(context.Background(), items(keys...), time.Time{})
		ctx, release := context.Background(), claims.Release
		defer release()
		start := time.Now()
		_, errs := doAll(ctx, claims, keys, func(k string) guard.Func {
			return func(context.Context) ([]byte, error) {
				time.Sleep(time.Duration(k[0]-'a'+1) * time.Millisecond)
				return []byte("r-" + k), nil
			}
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, []int{5}, store.sizes(), "one request for the five completions")
		require.Zero(t, store.completes.Load())
		require.Equal(t, 15*time.Millisecond, time.Since(start), "sent as the last work ended (work 5ms, completions 10ms), without waiting for the linger")
		for _, k := range keys {
			rec, err := store.Get(context.Background(), idempotency.StoredKey("test", k))
			require.NoError(t, err)
			require.Equal(t, idempotency.StatusCompleted, rec.Status, k)
			require.Equal(t, "r-"+k, string(rec.Result))
		}
	})
}

// A record whose work outlasts the others holds their completions at most
// CompleteLinger; one whose work fails holds them not at all.
func TestCompletionsWaitAtMostTheLinger(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := &completeCounting{Store: memstore.New()}
		g := newGuard(t, store, nil)
		claims := g.ClaimAhead(context.Background(), items("fast-1", "fast-2", "failing", "slow"), time.Time{})
		ctx, release := context.Background(), claims.Release
		defer release()
		ended := map[string]time.Duration{}
		var mu sync.Mutex
		start := time.Now()
		var wg sync.WaitGroup
		started := barrier(4)
		for _, k := range []string{"fast-1", "fast-2", "failing", "slow"} {
			wg.Go(func() {
				_, err := claims.Do(ctx, k, []byte("p-"+k), func(context.Context) ([]byte, error) {
					started()
					switch k {
					case "slow":
						time.Sleep(time.Second)
					case "failing":
						return nil, context.DeadlineExceeded
					}
					return nil, nil
				})
				if k != "failing" {
					require.NoError(t, err)
				}
				mu.Lock()
				ended[k] = time.Since(start)
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Equal(t, guard.CompleteLinger, ended["fast-1"], "sent after the linger, not after the slow work")
		require.Equal(t, guard.CompleteLinger, ended["fast-2"])
		require.Equal(t, time.Second, ended["slow"], "the last one running goes at once")
		require.Equal(t, []int{2}, store.sizes())
		require.EqualValues(t, 1, store.completes.Load(), "a wave of one is a plain Complete")
	})
}

// A completion whose lease was taken over is refused (ErrLeaseLost) inside
// a batch, and the others of that batch complete.
func TestTakenOverCompletionIsRefusedInItsBatch(t *testing.T) {
	t.Parallel()
	store := &completeCounting{Store: memstore.New()}
	clock := newFakeClock()
	g := newGuard(t, store, func(c *guard.Config) { c.Lease = time.Second; c.Clock = clock.Now })
	other := newGuard(t, memstoreView{store.Store}, func(c *guard.Config) { c.Lease = time.Minute; c.Clock = clock.Now })
	keys := []string{"a", "stalled", "c"}
	claims := g.ClaimAhead(context.Background(), items(keys...), time.Time{})
	ctx, release := context.Background(), claims.Release
	defer release()
	var took atomic.Bool
	started := barrier(len(keys))
	res, errs := doAll(ctx, claims, keys, func(k string) guard.Func {
		return func(context.Context) ([]byte, error) {
			started()
			if k == "stalled" { // stalls past its lease: another worker takes the key over
				clock.Advance(2 * time.Second)
				r, err := other.Do(context.Background(), k, []byte("p-"+k), func(context.Context) ([]byte, error) { return []byte("winner"), nil })
				took.Store(err == nil && r.Outcome == guard.OutcomeExecuted)
			}
			return []byte("r-" + k), nil
		}
	})
	require.True(t, took.Load(), "the other worker took the stalled key over")
	require.ErrorIs(t, errs[1], idempotency.ErrLeaseLost)
	require.Equal(t, guard.OutcomeExecuted, res[1].Outcome)
	require.NoError(t, errs[0])
	require.NoError(t, errs[2])
	require.Equal(t, []int{3}, store.sizes(), "the refused completion went in the batch")
	for k, want := range map[string]string{"a": "r-a", "stalled": "winner", "c": "r-c"} {
		rec, err := store.Get(context.Background(), idempotency.StoredKey("test", k))
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusCompleted, rec.Status, k)
		require.Equal(t, want, string(rec.Result), k)
	}
}

// memstoreView is a store without batch completion, over the same records.
type memstoreView struct{ s *memstore.Store }

func (v memstoreView) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	return v.s.Claim(ctx, in)
}
func (v memstoreView) Complete(ctx context.Context, key, token string, result []byte, exp time.Time) error {
	return v.s.Complete(ctx, key, token, result, exp)
}
func (v memstoreView) Release(ctx context.Context, key, token string) error {
	return v.s.Release(ctx, key, token)
}
func (v memstoreView) Get(ctx context.Context, key string) (idempotency.Record, error) {
	return v.s.Get(ctx, key)
}

// A worker that dies (its context ends and the time to finish passes) while
// its completions wait to be sent sends none of them: the records stay
// INPROGRESS, never COMPLETED without their effect; the redelivery finds
// them in progress until the lease ends, then takes them over and runs the
// effect (the window the documentation states).
func TestCrashBeforeTheFlushLeavesRecordsInProgress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := &completeCounting{Store: memstore.New()}
		const lease = time.Minute
		g := newGuard(t, store, func(c *guard.Config) { c.Lease = lease; c.FinishTimeout = time.Millisecond })
		ctx, cancel := context.WithCancel(context.Background())
		claims := g.ClaimAhead(ctx, items("done", "running"), time.Time{})
		claimed, release := ctx, claims.Release
		defer release()
		started, stuck := barrier(2), make(chan struct{})
		effect := func(k string) guard.Func {
			return func(ctx context.Context) ([]byte, error) {
				started()
				if k == "running" {
					<-stuck // still running when the worker dies
				}
				return []byte("r"), nil
			}
		}
		var wg sync.WaitGroup
		var doneErr error
		wg.Go(func() { _, doneErr = claims.Do(claimed, "done", []byte("p-done"), effect("done")) })
		// In this model the stuck work returns after the worker died, and
		// completes alone within FinishTimeout: its outcome is not at stake.
		wg.Go(func() { _, _ = claims.Do(claimed, "running", []byte("p-running"), effect("running")) })
		synctest.Wait() // "done" ran its effect; its completion waits for "running"
		cancel()
		time.Sleep(2 * time.Millisecond) // past the time to finish: the worker is gone
		for _, k := range []string{"done", "running"} {
			rec, err := store.Get(context.Background(), idempotency.StoredKey("test", k))
			require.NoError(t, err)
			require.Equal(t, idempotency.StatusInProgress, rec.Status, "%s: never COMPLETED by a dead worker", k)
		}
		close(stuck)
		wg.Wait()
		require.ErrorIs(t, doneErr, idempotency.ErrStoreFailed, "its completion was never sent")
		require.Empty(t, store.sizes())
		rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "done"))
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusInProgress, rec.Status)

		redelivery := newGuard(t, store, func(c *guard.Config) { c.Lease = lease })
		var runs atomic.Int32
		_, err = redelivery.Do(context.Background(), "done", []byte("p-done"), returns("r", &runs))
		require.ErrorIs(t, err, idempotency.ErrInProgress, "the lease is live")
		time.Sleep(lease + time.Second)
		res, err := redelivery.Do(context.Background(), "done", []byte("p-done"), returns("r", &runs))
		require.NoError(t, err)
		require.Equal(t, guard.OutcomeExecuted, res.Outcome, "taken over after the lease")
		rec, err = store.Get(context.Background(), idempotency.StoredKey("test", "done"))
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusCompleted, rec.Status)
		require.EqualValues(t, 1, runs.Load())
	})
}
