package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// CompleteStore is a Store that also completes in batches.
type CompleteStore interface {
	idempotency.Store
	idempotency.BatchCompleter
}

// RunCompleteBatch runs the conformance suite of
// idempotency.BatchCompleter: each input of a batch is judged as Complete
// judges it, fenced by its own token, and one refused input never keeps
// the others from completing.
func RunCompleteBatch(t *testing.T, newStore func(t *testing.T) CompleteStore) {
	t.Helper()
	for _, tc := range completeBatchCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// completion is the input completing key under token with result.
func completion(key, token, result string) idempotency.CompleteInput {
	in := idempotency.CompleteInput{Key: key, Token: token, ExpiresAt: base.Add(2 * time.Hour)}
	if result != "" {
		in.Result = []byte(result)
	}
	return in
}

var completeBatchCases = []struct {
	name string
	run  func(t *testing.T, s CompleteStore)
}{
	{"EachInputJudgedAsComplete", func(t *testing.T, s CompleteStore) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("own-1", "a", "h", base, time.Minute, time.Hour))
		mustClaim(t, s, claimAt("own-2", "a", "h", base, time.Minute, time.Hour))
		mustClaim(t, s, claimAt("taken", "a", "h", base, time.Second, time.Hour))
		mustClaim(t, s, claimAt("taken", "b", "h", base.Add(2*time.Second), time.Minute, time.Hour))
		mustClaim(t, s, claimAt("again", "a", "h", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "again", "a", []byte("first"), base.Add(time.Hour)))
		mustClaim(t, s, claimAt("other", "b", "h", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "other", "b", []byte("b's"), base.Add(time.Hour)))

		errs := s.CompleteBatch(ctx, []idempotency.CompleteInput{
			completion("own-1", "a", `{"n":1}`),
			completion("taken", "a", "late"),
			completion("again", "a", "first"),
			completion("missing", "a", "x"),
			completion("other", "a", "x"),
			completion("own-2", "a", ""),
		})
		require.Len(t, errs, 6)
		require.NoError(t, errs[0])
		require.ErrorIs(t, errs[1], idempotency.ErrLeaseLost, "the claim was taken over")
		require.NoError(t, errs[2], "a retried completion of its own record")
		require.ErrorIs(t, errs[3], idempotency.ErrLeaseLost, "no record")
		require.ErrorIs(t, errs[4], idempotency.ErrLeaseLost, "completed under another token")
		require.NoError(t, errs[5])

		got, err := s.Get(ctx, "own-1")
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusCompleted, got.Status)
		require.Equal(t, `{"n":1}`, string(got.Result))
		require.Equal(t, base.Add(2*time.Hour).Unix(), got.ExpiresAt.Unix())
		got, err = s.Get(ctx, "own-2")
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusCompleted, got.Status)
		require.Empty(t, got.Result)
		got, err = s.Get(ctx, "taken")
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusInProgress, got.Status, "the refused completion wrote nothing")
		require.Equal(t, "b", got.Token)
		got, err = s.Get(ctx, "other")
		require.NoError(t, err)
		require.Equal(t, "b's", string(got.Result))
		_, err = s.Get(ctx, "missing")
		require.ErrorIs(t, err, idempotency.ErrNotFound)
	}},
	{"MoreThanOneTransaction", func(t *testing.T, s CompleteStore) {
		ctx := context.Background()
		in := make([]idempotency.CompleteInput, 150)
		for i := range in {
			key := fmt.Sprintf("k%03d", i)
			mustClaim(t, s, claimAt(key, "a", "h", base, time.Minute, time.Hour))
			in[i] = completion(key, "a", key)
		}
		in[120].Token = "x"
		errs := s.CompleteBatch(ctx, in)
		require.Len(t, errs, len(in))
		for i, err := range errs {
			got, gerr := s.Get(ctx, in[i].Key)
			require.NoError(t, gerr)
			if i == 120 {
				require.ErrorIs(t, err, idempotency.ErrLeaseLost)
				require.Equal(t, idempotency.StatusInProgress, got.Status)
				continue
			}
			require.NoError(t, err, "input %d", i)
			require.Equal(t, idempotency.StatusCompleted, got.Status, in[i].Key)
			require.Equal(t, in[i].Key, string(got.Result))
		}
	}},
	{"EveryInputRefused", func(t *testing.T, s CompleteStore) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("p", "a", "h", base, time.Minute, time.Hour))
		mustClaim(t, s, claimAt("q", "a", "h", base, time.Minute, time.Hour))
		errs := s.CompleteBatch(ctx, []idempotency.CompleteInput{completion("p", "x", "r"), completion("q", "y", "r")})
		require.Len(t, errs, 2)
		for i, err := range errs {
			require.ErrorIs(t, err, idempotency.ErrLeaseLost, "input %d", i)
		}
		for _, key := range []string{"p", "q"} {
			got, err := s.Get(ctx, key)
			require.NoError(t, err)
			require.Equal(t, idempotency.StatusInProgress, got.Status, key)
		}
	}},
}
