package guard_test

import (
	"context"
	"errors"
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

// lostAnswer commits a batch claim and then loses its answer, as a timeout
// after the transaction committed does.
type lostAnswer struct {
	*memstore.Store
}

func (s lostAnswer) ClaimBatch(ctx context.Context, in []idempotency.ClaimInput) ([]idempotency.ClaimOutcome, error) {
	if _, err := s.Store.ClaimBatch(ctx, in); err != nil {
		return nil, err
	}
	return nil, errors.New("read tcp: i/o timeout")
}

// A batch claim that committed but whose answer was lost leaves no key
// stuck: each record claims again with the batch's owner token, recognises
// its own claim and runs; unused claims are released.
func TestAmbiguousClaimAheadLeavesNoKeyStuck(t *testing.T) {
	t.Parallel()
	store := lostAnswer{memstore.New()}
	g := newGuard(t, store, nil)
	claims := g.ClaimAhead(context.Background(), items("a", "b", "never-ran"), time.Time{})
	ctx, release := context.Background(), claims.Release
	var runs atomic.Int32
	for _, k := range []string{"a", "b"} {
		res, err := claims.Do(ctx, k, []byte("p-"+k), returns("r-"+k, &runs))
		require.NoError(t, err, "%s recognises its own claim", k)
		require.Equal(t, guard.OutcomeExecuted, res.Outcome)
	}
	release()
	require.EqualValues(t, 2, runs.Load())
	_, err := store.Get(context.Background(), idempotency.StoredKey("test", "never-ran"))
	require.ErrorIs(t, err, idempotency.ErrNotFound, "the unused claim was released, not left INPROGRESS")
}

// Twins (two deliveries of one key and payload in a batch, a producer
// retry) running at once: one executes, the other replays its result;
// neither fails.
func TestTwinsInABatchAreBothAnswered(t *testing.T) {
	t.Parallel()
	g := newGuard(t, memstore.New(), nil)
	claims := g.ClaimAhead(context.Background(), items("k", "k"), time.Time{})
	ctx, release := context.Background(), claims.Release
	defer release()
	var runs atomic.Int32
	started, finish := make(chan struct{}), make(chan struct{})
	results := make([]guard.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		results[0], errs[0] = claims.Do(ctx, "k", []byte("p-k"), func(context.Context) ([]byte, error) {
			runs.Add(1)
			close(started)
			<-finish
			return []byte("r"), nil
		})
	})
	<-started
	wg.Go(func() {
		results[1], errs[1] = claims.Do(ctx, "k", []byte("p-k"), returns("twin ran", &runs))
	})
	close(finish)
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, guard.OutcomeExecuted, results[0].Outcome)
	require.Equal(t, guard.OutcomeReplayed, results[1].Outcome)
	require.Equal(t, "r", string(results[1].Data))
	require.EqualValues(t, 1, runs.Load())
}

// A twin whose first delivery failed is failed too (and retried), never
// run a second time in the same batch; a twin with another payload is a
// mismatch once the first completed.
func TestTwinOutcomes(t *testing.T) {
	t.Parallel()
	g := newGuard(t, memstore.New(), nil)
	claims := g.ClaimAhead(context.Background(), []guard.Item{{Key: "f", Payload: []byte("p")}, {Key: "m", Payload: []byte("p")}}, time.Time{})
	ctx, release := context.Background(), claims.Release
	defer release()
	var runs atomic.Int32
	_, err := claims.Do(ctx, "f", []byte("p"), func(context.Context) ([]byte, error) { return nil, errors.New("downstream down") })
	var herr *guard.HandlerError
	require.ErrorAs(t, err, &herr)
	_, err = claims.Do(ctx, "f", []byte("p"), returns("", &runs))
	require.ErrorIs(t, err, idempotency.ErrInProgress)
	require.Zero(t, runs.Load())

	_, err = claims.Do(ctx, "m", []byte("p"), returns("r", &runs))
	require.NoError(t, err)
	_, err = claims.Do(ctx, "m", []byte("other"), returns("", &runs))
	require.ErrorIs(t, err, idempotency.ErrPayloadMismatch)
	require.EqualValues(t, 1, runs.Load())
}

// A TTL shorter than the longest lease is refused, naming both values.
func TestTTLShorterThanLeaseIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  guard.Config
		ok   bool
	}{
		{"derived lease: 10s TTL", guard.Config{KeyPrefix: "p", TTL: 10 * time.Second}, false},
		{"derived lease: 15m TTL", guard.Config{KeyPrefix: "p", TTL: 15 * time.Minute}, false},
		{"derived lease: default TTL", guard.Config{KeyPrefix: "p"}, true},
		{"fixed lease longer than TTL", guard.Config{KeyPrefix: "p", TTL: time.Minute, Lease: 2 * time.Minute}, false},
		{"fixed lease within TTL", guard.Config{KeyPrefix: "p", TTL: time.Minute, Lease: 30 * time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := guard.NewGuard(memstore.New(), tc.cfg)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			var cerr *guard.ConfigError
			require.ErrorAs(t, err, &cerr)
			require.Equal(t, "TTL", cerr.Field)
			require.ErrorIs(t, err, guard.ErrInvalidConfig)
			cfg := tc.cfg.WithDefaults()
			require.Contains(t, cerr.Problem, cfg.TTL.String())
			require.Contains(t, cerr.Problem, cfg.MaxLease().String())
		})
	}
}

// A claim whose context deadline lies beyond the TTL never expires before
// its lease: a second worker cannot take a live claim over.
func TestClaimNeverExpiresBeforeItsLease(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	g := newGuard(t, store, func(c *guard.Config) { c.TTL = 20 * time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_, err := g.Do(ctx, "k", nil, func(context.Context) ([]byte, error) {
		rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
		require.NoError(t, err)
		require.False(t, rec.ExpiresAt.Before(rec.LeaseUntil.Truncate(time.Second)), "expires %s, lease until %s", rec.ExpiresAt, rec.LeaseUntil)
		return nil, nil
	})
	require.NoError(t, err)
}

// A completion never outlives its Claims' finishBy time, even inside FinishTimeout: it
// fails (and the record stays in progress, to be taken over) rather than
// committing after the batch processor reported the record failed.
func TestCompletionEndsByFinishBy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.WithLatency(300 * time.Millisecond))
		g := newGuard(t, store, func(c *guard.Config) { c.FinishTimeout = time.Second })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		began := time.Now()
		claims := g.ClaimAhead(ctx, nil, began.Add(500*time.Millisecond))
		_, err := claims.Do(ctx, "k", nil, func(context.Context) ([]byte, error) {
			time.Sleep(100 * time.Millisecond) // at 400ms: a 300ms completion cannot end by 500ms
			cancel()
			return []byte("r"), nil
		})
		require.ErrorIs(t, err, idempotency.ErrStoreFailed)
		require.Equal(t, began.Add(500*time.Millisecond), time.Now(), "the completion was cut at FinishBy")
		rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusInProgress, rec.Status)
	})
}
