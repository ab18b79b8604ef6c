package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) idempotency.Store) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// base is the time the cases' claims are made at: an hour ahead of the
// clock, so that a store which also expires records by the wall clock
// (Valkey/Redis's PEXPIREAT) never drops one while a case still reasons
// about it, however slowly a loaded machine runs the suite. Stores judge
// expiry by the times in their inputs.
var base = time.Now().Add(time.Hour).Truncate(time.Millisecond)

// claimAt is a claim made at now with a lease and a TTL relative to it.
func claimAt(key, token, hash string, now time.Time, lease, ttl time.Duration) idempotency.ClaimInput {
	return idempotency.ClaimInput{Key: key, Token: token, PayloadHash: hash, Now: now, LeaseUntil: now.Add(lease), ExpiresAt: now.Add(ttl)}
}

func mustClaim(t *testing.T, s idempotency.Store, in idempotency.ClaimInput) idempotency.Record {
	t.Helper()
	rec, err := s.Claim(context.Background(), in)
	require.NoError(t, err, "claim %s by %s", in.Key, in.Token)
	return rec
}

var cases = []struct {
	name string
	run  func(t *testing.T, s idempotency.Store)
}{
	{"ClaimCreatesInProgressRecord", func(t *testing.T, s idempotency.Store) {
		in := claimAt("k", "a", "h", base, time.Minute, time.Hour)
		rec := mustClaim(t, s, in)
		require.Equal(t, idempotency.StatusInProgress, rec.Status)
		require.Equal(t, "a", rec.Token)
		got, err := s.Get(context.Background(), "k")
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusInProgress, got.Status)
		require.Equal(t, "a", got.Token)
		require.Equal(t, "h", got.PayloadHash)
		require.Equal(t, in.ExpiresAt.Unix(), got.ExpiresAt.Unix(), "TTL at second precision")
		require.Equal(t, in.LeaseUntil.UnixMilli(), got.LeaseUntil.UnixMilli(), "lease at millisecond precision")
	}},
	{"ClaimIsIdempotentForItsOwnToken", func(t *testing.T, s idempotency.Store) {
		in := claimAt("k", "a", "h", base, time.Minute, time.Hour)
		mustClaim(t, s, in)
		rec := mustClaim(t, s, in) // a retried request whose first attempt succeeded
		require.Equal(t, "a", rec.Token)
	}},
	{"ClaimOfLiveInProgressFails", func(t *testing.T, s idempotency.Store) {
		mustClaim(t, s, claimAt("k", "a", "h", base, time.Minute, time.Hour))
		rec, err := s.Claim(context.Background(), claimAt("k", "b", "h", base.Add(59*time.Second), time.Minute, time.Hour))
		require.ErrorIs(t, err, idempotency.ErrInProgress)
		require.Equal(t, "a", rec.Token, "the blocking record is reported")
	}},
	{"ClaimAfterCompleteReplays", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "k", "a", []byte(`{"ok":true}`), base.Add(time.Hour)))
		rec, err := s.Claim(ctx, claimAt("k", "b", "h", base.Add(time.Second), time.Minute, time.Hour))
		require.ErrorIs(t, err, idempotency.ErrAlreadyCompleted)
		require.Equal(t, idempotency.StatusCompleted, rec.Status)
		require.Equal(t, `{"ok":true}`, string(rec.Result))
	}},
	{"ClaimWithOtherPayloadAfterCompleteIsMismatch", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h1", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "k", "a", nil, base.Add(time.Hour)))
		_, err := s.Claim(ctx, claimAt("k", "b", "h2", base, time.Minute, time.Hour))
		require.ErrorIs(t, err, idempotency.ErrPayloadMismatch)
		_, err = s.Claim(ctx, claimAt("k", "c", "", base, time.Minute, time.Hour))
		require.ErrorIs(t, err, idempotency.ErrAlreadyCompleted, "no hash in the claim: no validation")
	}},
	{"ExpiredLeaseIsTakenOverAndOldOwnerFenced", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h", base, time.Second, time.Hour))
		_, err := s.Claim(ctx, claimAt("k", "b", "h", base.Add(time.Second), time.Minute, time.Hour))
		require.ErrorIs(t, err, idempotency.ErrInProgress, "a lease that ends now is still live")
		mustClaim(t, s, claimAt("k", "b", "h", base.Add(time.Second+time.Millisecond), time.Minute, time.Hour))
		require.ErrorIs(t, s.Complete(ctx, "k", "a", []byte("zombie"), base.Add(time.Hour)), idempotency.ErrLeaseLost)
		require.ErrorIs(t, s.Release(ctx, "k", "a"), idempotency.ErrLeaseLost)
		require.NoError(t, s.Complete(ctx, "k", "b", []byte("winner"), base.Add(time.Hour)))
		got, err := s.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "winner", string(got.Result))
		require.Equal(t, "b", got.Token)
	}},
	{"ExpiredCompletedRecordIsClaimedAgain", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h1", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "k", "a", nil, base.Add(10*time.Second)))
		_, err := s.Claim(ctx, claimAt("k", "b", "h2", base.Add(10*time.Second), time.Minute, time.Hour))
		require.ErrorIs(t, err, idempotency.ErrPayloadMismatch, "TTL not passed yet at second precision")
		rec := mustClaim(t, s, claimAt("k", "b", "h2", base.Add(11*time.Second), time.Minute, time.Hour))
		require.Equal(t, "b", rec.Token)
	}},
	{"CompleteNeedsTheToken", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h", base, time.Minute, time.Hour))
		require.ErrorIs(t, s.Complete(ctx, "k", "x", nil, base.Add(time.Hour)), idempotency.ErrLeaseLost)
		require.ErrorIs(t, s.Complete(ctx, "missing", "a", nil, base.Add(time.Hour)), idempotency.ErrLeaseLost)
		got, err := s.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, idempotency.StatusInProgress, got.Status, "a refused completion changes nothing")
	}},
	{"CompleteIsIdempotentForItsOwner", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h", base, time.Minute, time.Hour))
		require.NoError(t, s.Complete(ctx, "k", "a", []byte("1"), base.Add(time.Hour)))
		require.NoError(t, s.Complete(ctx, "k", "a", []byte("2"), base.Add(time.Hour)),
			"a retried completion (its answer lost) succeeds and changes nothing")
		require.ErrorIs(t, s.Complete(ctx, "k", "b", []byte("3"), base.Add(time.Hour)), idempotency.ErrLeaseLost)
		require.ErrorIs(t, s.Release(ctx, "k", "a"), idempotency.ErrLeaseLost, "a completed record is never released")
		got, err := s.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "1", string(got.Result))
	}},
	{"ReleaseFreesTheKey", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		mustClaim(t, s, claimAt("k", "a", "h", base, time.Minute, time.Hour))
		require.ErrorIs(t, s.Release(ctx, "k", "x"), idempotency.ErrLeaseLost)
		require.NoError(t, s.Release(ctx, "k", "a"))
		_, err := s.Get(ctx, "k")
		require.ErrorIs(t, err, idempotency.ErrNotFound)
		mustClaim(t, s, claimAt("k", "b", "h", base, time.Minute, time.Hour))
	}},
	{"GetMissingIsNotFound", func(t *testing.T, s idempotency.Store) {
		_, err := s.Get(context.Background(), "nothing-here")
		require.ErrorIs(t, err, idempotency.ErrNotFound)
	}},
	{"ResultsRoundTrip", func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		for i, result := range [][]byte{nil, []byte(`{"balance":42}`), {0xff, 0x00, 0xfe}} {
			key := fmt.Sprintf("k%d", i)
			mustClaim(t, s, claimAt(key, "a", "h", base, time.Minute, time.Hour))
			require.NoError(t, s.Complete(ctx, key, "a", result, base.Add(time.Hour)))
			rec, err := s.Claim(ctx, claimAt(key, "b", "h", base, time.Minute, time.Hour))
			require.ErrorIs(t, err, idempotency.ErrAlreadyCompleted)
			require.Equal(t, len(result), len(rec.Result))
			if len(result) > 0 {
				require.Equal(t, result, rec.Result)
			}
		}
	}},
	{"ConcurrentClaimsHaveOneWinner", func(t *testing.T, s idempotency.Store) {
		const keys, claimers = 10, 16
		var wg sync.WaitGroup
		wins := make([]atomic.Int32, keys)
		for k := range keys {
			for c := range claimers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := claimAt(fmt.Sprintf("race-%d", k), fmt.Sprintf("w%d", c), "h", base, time.Minute, time.Hour)
					_, err := s.Claim(context.Background(), in)
					if err == nil {
						wins[k].Add(1)
						return
					}
					if !errors.Is(err, idempotency.ErrInProgress) {
						t.Errorf("claim: unexpected error %v", err)
					}
				}()
			}
		}
		wg.Wait()
		for k := range wins {
			require.EqualValues(t, 1, wins[k].Load(), "key %d", k)
		}
	}},
}
