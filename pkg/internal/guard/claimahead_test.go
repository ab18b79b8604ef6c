package guard_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// batchCounting counts the requests of a BatchClaimer store.
type batchCounting struct {
	*memstore.Store
	claims, batches, releases atomic.Int32
	failBatch                 bool
}

func (s *batchCounting) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	s.claims.Add(1)
	return s.Store.Claim(ctx, in)
}

func (s *batchCounting) ClaimBatch(ctx context.Context, in []idempotency.ClaimInput) ([]idempotency.ClaimOutcome, error) {
	s.batches.Add(1)
	if s.failBatch {
		return nil, errors.New("batch claim failed")
	}
	return s.Store.ClaimBatch(ctx, in)
}

func (s *batchCounting) Release(ctx context.Context, key, token string) error {
	s.releases.Add(1)
	return s.Store.Release(ctx, key, token)
}

func items(keys ...string) []guard.Item {
	out := make([]guard.Item, len(keys))
	for i, k := range keys {
		out[i] = guard.Item{Key: k, Payload: []byte("p-" + k)}
	}
	return out
}

func TestClaimAheadSavesTheClaims(t *testing.T) {
	t.Parallel()
	store := &batchCounting{Store: memstore.New()}
	g := newGuard(t, store, nil)
	var runs atomic.Int32
	_, err := g.Do(context.Background(), "done", []byte("p-done"), returns("r", &runs))
	require.NoError(t, err)
	store.claims.Store(0)

	claims := g.ClaimAhead(context.Background(), items("a", "b", "done", "a"), time.Time{})
	ctx, release := context.Background(), claims.Release
	require.EqualValues(t, 1, store.batches.Load())
	for _, k := range []string{"a", "b"} {
		res, err := claims.Do(ctx, k, []byte("p-"+k), returns("r-"+k, &runs))
		require.NoError(t, err)
		require.Equal(t, guard.OutcomeExecuted, res.Outcome)
	}
	res, err := claims.Do(ctx, "done", []byte("p-done"), returns("", &runs))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeReplayed, res.Outcome)
	require.Zero(t, store.claims.Load(), "every claim was made ahead")

	// The twin of "a" in the batch replays its result without a request.
	res, err = claims.Do(ctx, "a", []byte("p-a"), returns("", &runs))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeReplayed, res.Outcome)
	require.Equal(t, "r-a", string(res.Data))
	require.Zero(t, store.claims.Load())
	release()
	require.Zero(t, store.releases.Load(), "nothing left to release")
	require.EqualValues(t, 3, runs.Load())
}

func TestClaimAheadReleasesWhatNeverRan(t *testing.T) {
	t.Parallel()
	store := &batchCounting{Store: memstore.New()}
	g := newGuard(t, store, nil)
	claims := g.ClaimAhead(context.Background(), items("ran", "skipped-1", "skipped-2"), time.Time{})
	ctx, release := context.Background(), claims.Release
	_, err := claims.Do(ctx, "ran", []byte("p-ran"), returns("", new(atomic.Int32)))
	require.NoError(t, err)
	release()
	require.EqualValues(t, 2, store.releases.Load())
	for _, k := range []string{"skipped-1", "skipped-2"} {
		_, err := store.Get(context.Background(), idempotency.StoredKey("test", k))
		require.ErrorIs(t, err, idempotency.ErrNotFound, "%s is free for its redelivery", k)
	}
}

func TestClaimAheadNeverChangesTheOutcome(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		failBatch bool
		payload   string // the payload Do is called with; the batch claimed "p-k"
		wantRuns  int32
		wantErr   error
	}{
		{name: "batch claim fails: Do claims itself", failBatch: true, payload: "p-k", wantRuns: 1},
		{name: "another payload than claimed: Do claims itself", payload: "other", wantErr: idempotency.ErrInProgress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := &batchCounting{Store: memstore.New(), failBatch: tc.failBatch}
			g := newGuard(t, store, nil)
			claims := g.ClaimAhead(context.Background(), items("k"), time.Time{})
			ctx, release := context.Background(), claims.Release
			defer release()
			var runs atomic.Int32
			_, err := claims.Do(ctx, "k", []byte(tc.payload), returns("", &runs))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr, "the key is held by the batch's own claim until released")
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantRuns, runs.Load())
		})
	}
}

func TestClaimAheadWithoutBatchClaimer(t *testing.T) {
	t.Parallel()
	g := newGuard(t, &countingStore{Store: memstore.New()}, nil)
	claims := g.ClaimAhead(context.Background(), items("k"), time.Time{})
	ctx, release := context.Background(), claims.Release
	defer release()
	res, err := claims.Do(ctx, "k", []byte("p-k"), returns("", new(atomic.Int32)))
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeExecuted, res.Outcome)
}

// A batch claimed ahead by a worker that then stalls: its claims expire
// and are taken over, and its completions are fenced.
func TestClaimAheadIsFenced(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	clock := newFakeClock()
	g := newGuard(t, store, func(c *guard.Config) { c.Lease = time.Second; c.Clock = clock.Now })
	claims := g.ClaimAhead(context.Background(), items("k"), time.Time{})
	ctx, release := context.Background(), claims.Release
	defer release()
	clock.Advance(2 * time.Second)
	other := newGuard(t, store, func(c *guard.Config) { c.Clock = clock.Now })
	_, err := other.Do(context.Background(), "k", []byte("p-k"), returns("winner", new(atomic.Int32)))
	require.NoError(t, err)
	_, err = claims.Do(ctx, "k", []byte("p-k"), returns("zombie", new(atomic.Int32)))
	require.ErrorIs(t, err, idempotency.ErrLeaseLost)
	rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "k"))
	require.NoError(t, err)
	require.Equal(t, "winner", string(rec.Result))
}

func ExampleGuard_ClaimAhead() {
	g, err := guard.NewGuard(memstore.New(), guard.Config{KeyPrefix: "payments"})
	if err != nil {
		panic(err)
	}
	batch := []guard.Item{{Key: "evt-1", Payload: []byte("a")}, {Key: "evt-2", Payload: []byte("b")}}
	// One request claims the whole batch; each Do then only completes.
	claims := g.ClaimAhead(context.Background(), batch, time.Time{})
	ctx, release := context.Background(), claims.Release
	defer release()
	for _, it := range batch {
		res, err := claims.Do(ctx, it.Key, it.Payload, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
		fmt.Println(it.Key, res.Outcome, err)
	}
	// Output:
	// evt-1 executed <nil>
	// evt-2 executed <nil>
}

// Near the deadline the invocation must return: unused claims are left to
// their leases instead of released.
func TestClaimAheadLeavesReleasesToLeasesNearTheDeadline(t *testing.T) {
	t.Parallel()
	store := &batchCounting{Store: memstore.New()}
	g := newGuard(t, store, func(c *guard.Config) { c.FinishTimeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	release := g.ClaimAhead(ctx, items("never-ran"), time.Time{}).Release
	release()
	require.Zero(t, store.releases.Load())
	rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "never-ran"))
	require.NoError(t, err)
	require.Equal(t, idempotency.StatusInProgress, rec.Status, "its lease will free it")
}
