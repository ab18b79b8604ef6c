package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// BatchStore is a Store that also claims in batches.
type BatchStore interface {
	idempotency.Store
	idempotency.BatchClaimer
}

// RunBatch runs the conformance suite of idempotency.BatchClaimer: each
// input of a batch is judged as Claim judges it, and concurrent batches on
// the same keys have at most one winner per key.
func RunBatch(t *testing.T, newStore func(t *testing.T) BatchStore) {
	t.Helper()
	for _, tc := range batchCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

var batchCases = []struct {
	name string
	run  func(t *testing.T, s BatchStore)
}{
	{"EachInputJudgedAsClaim", func(t *testing.T, s BatchStore) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("done", "a", "h", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "done", "a", []byte("r"), base.Add(time.Hour)))
		mustClaim(t, s, claimAt("mismatch", "a", "h1", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "mismatch", "a", nil, base.Add(time.Hour)))
		mustClaim(t, s, claimAt("busy", "a", "h", base, time.Minute, time.Hour))
		mustClaim(t, s, claimAt("abandoned", "a", "h", base, time.Second, time.Hour))

		now := base.Add(2 * time.Second)
		in := []idempotency.ClaimInput{
			claimAt("new-1", "b", "h", now, time.Minute, time.Hour),
			claimAt("done", "b", "h", now, time.Minute, time.Hour),
			claimAt("busy", "b", "h", now, time.Minute, time.Hour),
			claimAt("mismatch", "b", "h2", now, time.Minute, time.Hour),
			claimAt("abandoned", "b", "h", now, time.Minute, time.Hour),
			claimAt("new-2", "b", "h", now, time.Minute, time.Hour),
		}
		out, err := s.ClaimBatch(ctx, in)
		require.NoError(t, err)
		require.Len(t, out, len(in))
		require.NoError(t, out[0].Err)
		require.ErrorIs(t, out[1].Err, idempotency.ErrAlreadyCompleted)
		require.Equal(t, "r", string(out[1].Record.Result))
		require.ErrorIs(t, out[2].Err, idempotency.ErrInProgress)
		require.ErrorIs(t, out[3].Err, idempotency.ErrPayloadMismatch)
		require.NoError(t, out[4].Err, "an expired lease is taken over")
		require.NoError(t, out[5].Err)
		for _, key := range []string{"new-1", "abandoned", "new-2"} {
			got, err := s.Get(ctx, key)
			require.NoError(t, err)
			require.Equal(t, "b", got.Token, key)
			require.Equal(t, idempotency.StatusInProgress, got.Status, key)
		}
		require.ErrorIs(t, s.Complete(ctx, "abandoned", "a", nil, base.Add(time.Hour)), idempotency.ErrLeaseLost,
			"the abandoned claim's owner is fenced")
	}},
	{"MoreThanOneTransaction", func(t *testing.T, s BatchStore) {
		in := make([]idempotency.ClaimInput, 150)
		for i := range in {
			in[i] = claimAt(fmt.Sprintf("k%03d", i), "a", "h", base, time.Minute, time.Hour)
		}
		mustClaim(t, s, claimAt("k120", "x", "h", base, time.Minute, time.Hour))
		out, err := s.ClaimBatch(context.Background(), in)
		require.NoError(t, err)
		for i, o := range out {
			if i == 120 {
				require.ErrorIs(t, o.Err, idempotency.ErrInProgress)
				continue
			}
			require.NoError(t, o.Err, "input %d", i)
		}
	}},
	{"ConcurrentBatchesHaveOneWinnerPerKey", func(t *testing.T, s BatchStore) {
		const keys, batches = 20, 4
		var mu sync.Mutex
		wins, failures := map[string]int{}, map[string]int{}
		var wg sync.WaitGroup
		for b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := rand.Perm(keys)
				in := make([]idempotency.ClaimInput, keys)
				for j, k := range order {
					in[j] = claimAt(fmt.Sprintf("race-%d", k), fmt.Sprintf("w%d", b), "h", base, time.Minute, time.Hour)
				}
				out, err := s.ClaimBatch(context.Background(), in)
				if err != nil {
					t.Errorf("batch %d: %v", b, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for j, o := range out {
					switch {
					case o.Err == nil:
						wins[in[j].Key]++
					case !errors.Is(o.Err, idempotency.ErrInProgress):
						failures[in[j].Key]++ // not claimed ahead: its work claims it alone
					}
				}
			}()
		}
		wg.Wait()
		for k := range keys {
			key := fmt.Sprintf("race-%d", k)
			require.LessOrEqual(t, wins[key], 1, key)
			require.True(t, wins[key] == 1 || failures[key] > 0, "%s: no winner and no error", key)
		}
	}},
}
