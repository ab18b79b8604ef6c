package guard_test

import (
	"context"
	"errors"
	"strings"
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

// fakeClock is a settable clock shared by guards in one test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingStore counts calls and can fail them all.
type countingStore struct {
	idempotency.Store
	calls atomic.Int32
	fail  atomic.Bool
}

var errDown = errors.New("store is down")

func (s *countingStore) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return idempotency.Record{}, errDown
	}
	return s.Store.Claim(ctx, in)
}

func (s *countingStore) Complete(ctx context.Context, key, token string, result []byte, exp time.Time) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.Store.Complete(ctx, key, token, result, exp)
}

func newGuard(t *testing.T, store idempotency.Store, mutate func(*guard.Config)) *guard.Guard {
	t.Helper()
	cfg := guard.Config{KeyPrefix: "test"}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := guard.NewGuard(store, cfg)
	require.NoError(t, err)
	return g
}

func returns(result string, runs *atomic.Int32) guard.Func {
	return func(context.Context) ([]byte, error) {
		runs.Add(1)
		return []byte(result), nil
	}
}

func TestDoExecutesOnceAndReplays(t *testing.T) {
	t.Parallel()
	g := newGuard(t, memstore.New(), nil)
	var runs atomic.Int32
	ctx := context.Background()

	first, err := g.Do(ctx, "evt-1", []byte("p"), returns("r1", &runs))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeExecuted, first.Outcome)

	second, err := g.Do(ctx, "evt-1", []byte("p"), returns("r2", &runs))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeReplayed, second.Outcome)
	require.Equal(t, "r1", string(second.Data), "the stored result is replayed")
	require.EqualValues(t, 1, runs.Load())
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	t.Parallel()
	g := newGuard(t, memstore.New(), nil)
	var runs atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := g.Do(context.Background(), "k", nil, func(context.Context) ([]byte, error) {
				runs.Add(1)
				return nil, nil
			})
			if err != nil && !errors.Is(err, idempotency.ErrInProgress) {
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, runs.Load())
}

// Work cut short by its own context (the invocation's deadline) may have
// had its effect before it noticed: its claim is kept, not released, so no
// redelivery runs the work again before the lease ends.
func TestWorkCutShortByItsContextKeepsTheClaim(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	g := newGuard(t, store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := g.Do(ctx, "k", nil, func(ctx context.Context) ([]byte, error) {
		cancel() // the deadline strikes while the effect's request is in flight
		return nil, ctx.Err()
	})
	var herr *guard.HandlerError
	require.ErrorAs(t, err, &herr)
	require.False(t, herr.Released)
	rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
	require.NoError(t, err)
	require.Equal(t, idempotency.StatusInProgress, rec.Status, "the claim is kept until its lease ends")
	_, err = g.Do(context.Background(), "k", nil, func(context.Context) ([]byte, error) { return nil, nil })
	require.ErrorIs(t, err, idempotency.ErrInProgress, "a redelivery waits for the lease")
}

func TestHandlerErrorReleasesForRetry(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	g := newGuard(t, store, nil)
	boom := errors.New("downstream refused")
	_, err := g.Do(context.Background(), "k", nil, func(context.Context) ([]byte, error) { return nil, boom })
	var herr *guard.HandlerError
	require.ErrorAs(t, err, &herr)
	require.ErrorIs(t, err, boom)
	require.True(t, herr.Released)
	_, err = store.Get(context.Background(), idempotency.StoredKey("test", "k"))
	require.ErrorIs(t, err, idempotency.ErrNotFound)

	var runs atomic.Int32
	res, err := g.Do(context.Background(), "k", nil, returns("ok", &runs))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeExecuted, res.Outcome)
	require.EqualValues(t, 1, runs.Load())
}

func TestPanicReleasesAndRepanics(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	g := newGuard(t, store, nil)
	require.PanicsWithValue(t, "bug", func() {
		_, _ = g.Do(context.Background(), "k", nil, func(context.Context) ([]byte, error) { panic("bug") })
	})
	_, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
	require.ErrorIs(t, err, idempotency.ErrNotFound, "a panicking handler does not hold the key until its lease ends")
}

func TestPayloadMismatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		skip    bool
		wantErr error
	}{
		{name: "validation on by default", wantErr: idempotency.ErrPayloadMismatch},
		{name: "validation off", skip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGuard(t, memstore.New(), func(c *guard.Config) { c.SkipPayloadValidation = tc.skip })
			var runs atomic.Int32
			_, err := g.Do(context.Background(), "k", []byte(`{"amount":1}`), returns("", &runs))
			require.NoError(t, err)
			_, err = g.Do(context.Background(), "k", []byte(`{"amount":2}`), returns("", &runs))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.EqualValues(t, 1, runs.Load(), "the function never runs for a reused key")
		})
	}
}

func TestExpiredLeaseIsTakenOverAndZombieFenced(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	clock := newFakeClock()
	g := newGuard(t, store, func(c *guard.Config) { c.Lease = time.Second; c.Clock = clock.Now })

	zombieRunning, takeoverDone := make(chan struct{}), make(chan struct{})
	var zombieErr error
	go func() {
		defer close(zombieRunning)
		_, zombieErr = g.Do(context.Background(), "k", nil, func(context.Context) ([]byte, error) {
			zombieRunning <- struct{}{}
			<-takeoverDone // stalls past its lease
			return []byte("zombie"), nil
		})
	}()
	<-zombieRunning

	_, err := g.Do(context.Background(), "k", nil, returns("", new(atomic.Int32)))
	require.ErrorIs(t, err, idempotency.ErrInProgress, "the lease is live")

	clock.Advance(2 * time.Second)
	res, err := g.Do(context.Background(), "k", nil, returns("winner", new(atomic.Int32)))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeExecuted, res.Outcome)
	close(takeoverDone)
	<-zombieRunning

	require.ErrorIs(t, zombieErr, idempotency.ErrLeaseLost)
	rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
	require.NoError(t, err)
	require.Equal(t, "winner", string(rec.Result), "the fenced worker did not overwrite the result")
}

// pastDeadline reports a deadline in the past but is never done.
type pastDeadline struct {
	context.Context
	at time.Time
}

func (c pastDeadline) Deadline() (time.Time, bool) { return c.at, true }

func TestLease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ctx      func() (context.Context, context.CancelFunc)
		lease    time.Duration
		min, max time.Duration
	}{
		{name: "no deadline", ctx: func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			min: guard.LeaseWithoutDeadlineDefault, max: guard.LeaseWithoutDeadlineDefault},
		// A Lambda context can report no time left while the call still
		// goes through (Powertools Python #4759 looped forever on that).
		{name: "deadline passed gets the floor", ctx: func() (context.Context, context.CancelFunc) {
			return pastDeadline{Context: context.Background(), at: time.Now().Add(-time.Minute)}, func() {}
		}, min: guard.MinLeaseDefault, max: guard.MinLeaseDefault},
		{name: "remaining time plus margin", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Second)
		}, min: 15 * time.Second, max: 15 * time.Second},
		{name: "fixed lease", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Second)
		}, lease: 42 * time.Second, min: 42 * time.Second, max: 42 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { // the remaining time is exact on the fake clock
				ctx, cancel := tc.ctx()
				defer cancel()
				store := memstore.New()
				g := newGuard(t, store, func(c *guard.Config) { c.Lease = tc.lease })
				var lease time.Duration
				_, err := g.Do(ctx, "k", nil, func(context.Context) ([]byte, error) {
					rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
					require.NoError(t, err)
					lease = rec.LeaseUntil.Sub(time.Now())
					return nil, nil
				})
				require.NoError(t, err)
				require.GreaterOrEqual(t, lease, tc.min-time.Millisecond)
				require.LessOrEqual(t, lease, tc.max)
			})
		})
	}
}

func TestCacheServesDuplicatesWithoutStoreAndHonoursTTL(t *testing.T) {
	t.Parallel()
	store := &countingStore{Store: memstore.New()}
	clock := newFakeClock()
	g := newGuard(t, store, func(c *guard.Config) {
		c.CacheSize = 2
		c.TTL = time.Minute
		c.Lease = time.Second
		c.Clock = clock.Now
	})
	var runs atomic.Int32
	ctx := context.Background()
	_, err := g.Do(ctx, "k", []byte("p"), returns("r", &runs))
	require.NoError(t, err)
	calls := store.calls.Load()

	res, err := g.Do(ctx, "k", []byte("p"), returns("r", &runs))
	require.NoError(t, err)
	require.True(t, res.FromCache)
	require.Equal(t, "r", string(res.Data))
	require.Equal(t, calls, store.calls.Load(), "a cache hit costs no store request")

	_, err = g.Do(ctx, "k", []byte("other"), returns("r", &runs))
	require.ErrorIs(t, err, idempotency.ErrPayloadMismatch, "the cache validates payloads too")

	clock.Advance(2 * time.Minute)
	res, err = g.Do(ctx, "k", []byte("p"), returns("r", &runs))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeExecuted, res.Outcome, "expired keys are neither cached nor protected")
	require.EqualValues(t, 2, runs.Load())
}

func TestStoreFailureNeverRunsUnclaimed(t *testing.T) {
	t.Parallel()
	store := &countingStore{Store: memstore.New()}
	store.fail.Store(true)
	g := newGuard(t, store, nil)
	var runs atomic.Int32
	_, err := g.Do(context.Background(), "k", nil, returns("", &runs))
	require.ErrorIs(t, err, idempotency.ErrStoreFailed)
	require.ErrorIs(t, err, errDown, "the store's own error is kept")
	var serr *idempotency.StoreError
	require.ErrorAs(t, err, &serr)
	require.Equal(t, "claim", serr.Op)
	require.Zero(t, runs.Load())
}

func TestKeysAreHashed(t *testing.T) {
	t.Parallel()
	key := idempotency.StoredKey("payments", "customer-4111-1111")
	require.True(t, strings.HasPrefix(key, "payments#"))
	require.NotContains(t, key, "4111")
	require.Len(t, key, len("payments#")+64)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   guard.Config
		field string
	}{
		{"missing prefix", guard.Config{}, "KeyPrefix"},
		{"short TTL", guard.Config{KeyPrefix: "p", TTL: time.Millisecond}, "TTL"},
		{"negative lease", guard.Config{KeyPrefix: "p", Lease: -time.Second}, "Lease"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := guard.NewGuard(memstore.New(), tc.cfg)
			require.Error(t, err)
			require.Contains(t, err.Error(), "Config."+tc.field)
		})
	}
}

func TestCommitBatchNeedsATxStore(t *testing.T) {
	t.Parallel()
	g := newGuard(t, memstore.New(), nil)
	res := guard.CommitBatch(context.Background(), g, []guard.TxItem[string]{{Key: "k", Writes: []string{"w"}}})
	require.Len(t, res, 1)
	require.ErrorIs(t, res[0].Err, idempotency.ErrTxUnsupported)
}

// Complete runs under the caller's context while it lives, however long the
// store takes, and for FinishTimeout more once it has ended.
func TestFinishOutlivesTheContextByFinishTimeout(t *testing.T) {
	t.Parallel()
	slowStore := func() *memstore.Store { return memstore.New(memstore.WithLatency(50 * time.Millisecond)) }
	for _, tc := range []struct {
		name          string
		finishTimeout time.Duration
		cancelInWork  bool
		wantErr       error
	}{
		{name: "live context: not cut at FinishTimeout", finishTimeout: time.Millisecond},
		{name: "ended context: completed within the grace", finishTimeout: time.Second, cancelInWork: true},
		{name: "ended context: grace too short", finishTimeout: time.Millisecond, cancelInWork: true, wantErr: idempotency.ErrStoreFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { finishCase(t, slowStore(), tc.finishTimeout, tc.cancelInWork, tc.wantErr) })
		})
	}
}

// finishCase runs one case of TestFinishOutlivesTheContextByFinishTimeout on
// the fake clock of a synctest bubble.
func finishCase(t *testing.T, store *memstore.Store, finishTimeout time.Duration, cancelInWork bool, wantErr error) {
	g := newGuard(t, store, func(c *guard.Config) { c.FinishTimeout = finishTimeout })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs atomic.Int32
	_, err := g.Do(ctx, "k", nil, func(context.Context) ([]byte, error) {
		runs.Add(1)
		if cancelInWork {
			cancel() // the deadline hits as the work returns
		}
		return []byte("done"), nil
	})
	require.EqualValues(t, 1, runs.Load())
	if wantErr != nil {
		require.ErrorIs(t, err, wantErr)
		return
	}
	require.NoError(t, err)
	rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
	require.NoError(t, err)
	require.Equal(t, idempotency.StatusCompleted, rec.Status)
}
