package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// CommitStore is a Store that also commits effects made of writes of type
// W with their records.
type CommitStore[W any] interface {
	idempotency.Store
	idempotency.BatchCommitter[W]
}

// Downstream makes and reads the writes of type W of a store under test,
// so the suite can check what an effect wrote. Items are named by string;
// their values are strings.
type Downstream[W any] struct {
	// Put writes value to item, unconditionally.
	Put func(item, value string) W
	// PutNew writes value to item only if item does not exist yet (the
	// write's own condition).
	PutNew func(item, value string) W
	// Read returns item's value, and false if it does not exist.
	Read func(t *testing.T, item string) (string, bool)
}

// RunCommit runs the conformance suite of idempotency.BatchCommitter against
// stores made by newStore, with writes made and read by the Downstream that
// newDownstream returns for each case's store.
func RunCommit[W any](t *testing.T, newStore func(t *testing.T) CommitStore[W], newDownstream func(t *testing.T, s CommitStore[W]) Downstream[W]) {
	t.Helper()
	for _, tc := range commitCases[W]() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tc.run(t, s, newDownstream(t, s))
		})
	}
}

// commitAt is an input committing key's effect at now.
func commitAt[W any](key, hash string, now time.Time, result string, writes ...W) idempotency.CommitInput[W] {
	return idempotency.CommitInput[W]{Key: key, PayloadHash: hash, Result: []byte(result), Now: now, ExpiresAt: now.Add(time.Hour), Writes: writes}
}

type commitCase[W any] struct {
	name string
	run  func(t *testing.T, s CommitStore[W], d Downstream[W])
}

func commitCases[W any]() []commitCase[W] {
	commit := func(t *testing.T, s CommitStore[W], in ...idempotency.CommitInput[W]) []idempotency.CommitOutcome {
		t.Helper()
		out := s.CommitBatch(context.Background(), in)
		require.Len(t, out, len(in))
		return out
	}
	absent := func(t *testing.T, d Downstream[W], item string) {
		t.Helper()
		_, ok := d.Read(t, item)
		require.False(t, ok, "%s was not written", item)
	}
	value := func(t *testing.T, d Downstream[W], item, want string) {
		t.Helper()
		got, ok := d.Read(t, item)
		require.True(t, ok, "%s was written", item)
		require.Equal(t, want, got, item)
	}
	return []commitCase[W]{
		{"NewKeyCommitsRecordAndWrites", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			out := commit(t, s, commitAt("k", "h", base, "r", d.Put("item-k", "v")))
			require.NoError(t, out[0].Err)
			rec, err := s.Get(context.Background(), "k")
			require.NoError(t, err)
			require.Equal(t, idempotency.StatusCompleted, rec.Status)
			require.Equal(t, "r", string(rec.Result))
			require.Equal(t, "h", rec.PayloadHash)
			require.Equal(t, base.Add(time.Hour).Unix(), rec.ExpiresAt.Unix())
			value(t, d, "item-k", "v")
		}},
		{"DuplicateReplaysAndWritesNothing", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			require.NoError(t, commit(t, s, commitAt("k", "h", base, "r1", d.Put("item-k", "first")))[0].Err)
			out := commit(t, s, commitAt("k", "h", base.Add(time.Second), "r2", d.Put("item-k", "second")))
			require.ErrorIs(t, out[0].Err, idempotency.ErrAlreadyCompleted)
			require.Equal(t, "r1", string(out[0].Record.Result), "the stored result comes back with the conflict")
			value(t, d, "item-k", "first")
		}},
		{"OtherPayloadIsMismatchAndWritesNothing", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			require.NoError(t, commit(t, s, commitAt("k", "h1", base, "r", d.Put("item-1", "v")))[0].Err)
			out := commit(t, s, commitAt("k", "h2", base.Add(time.Second), "r", d.Put("item-2", "v")))
			require.ErrorIs(t, out[0].Err, idempotency.ErrPayloadMismatch)
			absent(t, d, "item-2")
		}},
		{"LiveClaimBlocks", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			mustClaim(t, s, claimAt("k", "a", "h", base, time.Minute, time.Hour))
			out := commit(t, s, commitAt("k", "h", base.Add(59*time.Second), "r", d.Put("item-k", "v")))
			require.ErrorIs(t, out[0].Err, idempotency.ErrInProgress)
			require.Equal(t, "a", out[0].Record.Token)
			absent(t, d, "item-k")
		}},
		{"ExpiredLeaseIsTakenOverAndItsOwnerFenced", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			ctx := context.Background()
			mustClaim(t, s, claimAt("k", "a", "h", base, time.Second, time.Hour))
			require.NoError(t, commit(t, s, commitAt("k", "h", base.Add(2*time.Second), "r", d.Put("item-k", "v")))[0].Err)
			value(t, d, "item-k", "v")
			require.ErrorIs(t, s.Complete(ctx, "k", "a", nil, base.Add(time.Hour)), idempotency.ErrLeaseLost)
			rec, err := s.Get(ctx, "k")
			require.NoError(t, err)
			require.Equal(t, idempotency.StatusCompleted, rec.Status)
		}},
		{"ExpiredRecordIsReplaced", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			in := commitAt("k", "h", base, "old", d.Put("item-1", "v"))
			in.ExpiresAt = base.Add(time.Second)
			require.NoError(t, commit(t, s, in)[0].Err)
			out := commit(t, s, commitAt("k", "h", base.Add(3*time.Second), "new", d.Put("item-2", "v")))
			require.NoError(t, out[0].Err)
			value(t, d, "item-2", "v")
		}},
		{"FailedWriteConditionFailsOnlyItsInput", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			require.NoError(t, commit(t, s, commitAt("seed", "h", base, "", d.Put("taken", "old")))[0].Err)
			out := commit(t, s,
				commitAt("a", "h", base, "", d.Put("item-a", "v")),
				commitAt("b", "h", base, "", d.Put("item-b", "v"), d.PutNew("taken", "new")),
				commitAt("c", "h", base, "", d.Put("item-c", "v")),
			)
			require.NoError(t, out[0].Err)
			require.NoError(t, out[2].Err)
			var wce *idempotency.WriteConditionError
			require.ErrorAs(t, out[1].Err, &wce)
			require.Equal(t, 1, wce.Index)
			absent(t, d, "item-b")
			value(t, d, "taken", "old")
			_, err := s.Get(context.Background(), "b")
			require.ErrorIs(t, err, idempotency.ErrNotFound, "no record for an effect that did not commit")
		}},
		{"WritesToOneItemKeepTheInputsOrder", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			out := commit(t, s,
				commitAt("a", "h", base, "", d.Put("shared", "a")),
				commitAt("b", "h", base, "", d.Put("shared", "b")),
				commitAt("c", "h", base, "", d.Put("shared", "c")),
			)
			for i, o := range out {
				require.NoError(t, o.Err, "input %d", i)
			}
			value(t, d, "shared", "c")
		}},
		{"ManyInputs", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			in := make([]idempotency.CommitInput[W], 120)
			for i := range in {
				in[i] = commitAt(fmt.Sprintf("k%03d", i), "h", base, "", d.Put(fmt.Sprintf("item-%03d", i), "v"))
			}
			mustClaim(t, s, claimAt("k077", "x", "h", base, time.Minute, time.Hour))
			out := commit(t, s, in...)
			for i, o := range out {
				if i == 77 {
					require.ErrorIs(t, o.Err, idempotency.ErrInProgress)
					absent(t, d, "item-077")
					continue
				}
				require.NoError(t, o.Err, "input %d", i)
			}
			value(t, d, "item-119", "v")
		}},
		{"ConcurrentCommitsHaveOneWinnerPerKey", func(t *testing.T, s CommitStore[W], d Downstream[W]) {
			const keys, workers = 10, 4
			var mu sync.Mutex
			wins := map[string]int{}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					in := make([]idempotency.CommitInput[W], keys)
					for k := range keys {
						in[k] = commitAt(fmt.Sprintf("race-%d", k), "h", base, "", d.Put(fmt.Sprintf("race-%d-by-%d", k, w), "v"))
					}
					out := s.CommitBatch(context.Background(), in)
					mu.Lock()
					defer mu.Unlock()
					for k, o := range out {
						if o.Err == nil {
							wins[in[k].Key]++
						}
					}
				})
			}
			wg.Wait()
			for k := range keys {
				key := fmt.Sprintf("race-%d", k)
				require.LessOrEqual(t, wins[key], 1, key)
				written := 0
				for w := range workers {
					if _, ok := d.Read(t, fmt.Sprintf("race-%d-by-%d", k, w)); ok {
						written++
					}
				}
				require.Equal(t, wins[key], written, "%s: an effect is written exactly when its commit won", key)
			}
		}},
	}
}
