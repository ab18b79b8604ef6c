package sqsonce_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

var byID = sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID }))

// Twins in one batch (a producer retry: same key, new message) are both
// answered in the invocation: one executes, the other gets its result back,
// typed.
func TestNewAnswersTwinsInOneBatch(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	h, err := sqsonce.New(memstore.New(), byID, func(_ context.Context, o order) (string, error) {
		runs.Add(1)
		return "sent " + o.ID, nil
	}, sqsonce.Config{KeyPrefix: "mail", Logger: quiet()})
	require.NoError(t, err)
	report, err := h.Process(context.Background(), batch(standardARN,
		rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", o: order{"o1", "x", 1}}, rec{msgID: "m3", o: order{"o2", "x", 1}}))
	require.NoError(t, err)
	require.Empty(t, failures(report))
	require.Equal(t, sqsonce.Counts{Invocations: 1, Records: 3, Succeeded: 3, Executed: 2, Replayed: 1}, report.Counts)
	require.EqualValues(t, 2, runs.Load())
	twins := map[sqsonce.Idempotency]string{}
	for _, r := range report.Records[:2] {
		require.Equal(t, "o1", r.Key)
		twins[r.Idempotency] = r.Result
	}
	require.Equal(t, map[sqsonce.Idempotency]string{sqsonce.IdempotencyExecuted: "sent o1", sqsonce.IdempotencyReplayed: "sent o1"}, twins,
		"one twin executes, the other gets the result it stored back, decoded")
	last, ok := report.Record("m3")
	require.True(t, ok)
	require.Equal(t, sqsonce.Record[string]{MessageID: "m3", Key: "o2", Outcome: sqsonce.OutcomeSucceeded, Idempotency: sqsonce.IdempotencyExecuted, Result: "sent o2"}, last)
}

// Bad input is never dropped: an undecodable body, a missing key and a key
// reused with another payload are permanent failures, reported (or sent to
// the DLQ when one is configured), each with its class.
func TestNewBadInputIsReported(t *testing.T) {
	t.Parallel()
	h, err := sqsonce.New(memstore.New(), byID, func(context.Context, order) ([]byte, error) { return nil, nil },
		sqsonce.Config{KeyPrefix: "mail", Logger: quiet()})
	require.NoError(t, err)
	_, err = h.Process(context.Background(), batch(standardARN, rec{msgID: "m0", o: order{"o1", "x", 1}}))
	require.NoError(t, err)
	report, err := h.Process(context.Background(), batch(standardARN,
		rec{msgID: "m1", body: "{"}, rec{msgID: "m2", o: order{"", "x", 1}}, rec{msgID: "m3", o: order{"o1", "x", 2}}))
	require.NoError(t, err)
	require.Equal(t, []string{"m1", "m2", "m3"}, failures(report))
	require.Equal(t, 2, report.Counts.Invalid)
	require.Equal(t, 1, report.Counts.PayloadMismatch)
	for _, id := range []string{"m1", "m2", "m3"} {
		o, _ := report.Outcome(id)
		require.Equal(t, sqsonce.OutcomePermanent, o, id)
	}
}

// slowComplete is a store whose completions take d.
type slowComplete struct {
	*memstore.Store
	d time.Duration
}

func (s slowComplete) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.Complete(ctx, key, token, result, expiresAt)
}

// With short function timeouts, a completion still fits in the
// invocation, and a record is reported succeeded exactly when its
// completion committed: never completed but reported abandoned.
func TestShortTimeouts(t *testing.T) {
	t.Parallel()
	for _, timeout := range []time.Duration{time.Second, 3 * time.Second, 30 * time.Second} {
		for _, complete := range []time.Duration{10 * time.Millisecond, 400 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s/complete in %s", timeout, complete), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					store := slowComplete{memstore.New(), complete}
					// The effect ends just as the processor cancels it at the
					// safety margin: its completion must run in what is left.
					h, err := sqsonce.New(store, byID, func(ctx context.Context, o order) ([]byte, error) {
						<-ctx.Done()
						return []byte("done"), nil
					}, sqsonce.Config{KeyPrefix: "mail", Logger: quiet()})
					require.NoError(t, err)
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					defer cancel()
					report, err := h.Process(ctx, batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}}))
					require.NoError(t, err)
					require.NoError(t, ctx.Err(), "the invocation returned before its deadline")
					outcome, _ := report.Outcome("m1")
					time.Sleep(time.Minute) // (fake time) a late completion would have landed by now
					rec, err := store.Get(context.Background(), idempotency.StoredKey("mail", "o1"))
					require.NoError(t, err)
					completed := rec.Status == idempotency.StatusCompleted
					require.Equal(t, completed, outcome == sqsonce.OutcomeSucceeded,
						"outcome %s, record %s", outcome, rec.Status)
					if complete == 10*time.Millisecond {
						require.True(t, completed, "a fast completion fits in the invocation")
					}
				})
			})
		}
	}
}

// FinishTimeout must be shorter than SafetyMargin, and the message
// configuration is checked, each error naming its field.
func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, order) ([]byte, error) { return nil, nil }
	for _, tc := range []struct {
		name  string
		msg   sqsonce.Message[order]
		cfg   sqsonce.Config
		field string
	}{
		{"finish timeout", byID, sqsonce.Config{KeyPrefix: "p", FinishTimeout: 3 * time.Second}, "Config.FinishTimeout"},
		{"no decoder", sqsonce.Message[order]{Key: byID.Key}, sqsonce.Config{KeyPrefix: "p"}, "Message.Decode"},
		{"no key", sqsonce.Message[order]{Decode: byID.Decode}, sqsonce.Config{KeyPrefix: "p"}, "Message.Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqsonce.New(memstore.New(), tc.msg, fn, tc.cfg)
			var cerr *sqsonce.ConfigError
			require.ErrorAs(t, err, &cerr)
			require.Equal(t, tc.field, cerr.Field)
			require.ErrorIs(t, err, sqsonce.ErrInvalidConfig)
		})
	}
	_, err := sqsonce.New(memstore.New(), byID, fn, sqsonce.Config{})
	var cerr *sqsonce.ConfigError
	require.ErrorAs(t, err, &cerr, "a missing KeyPrefix is named as the caller set it")
	require.Equal(t, "Config.KeyPrefix", cerr.Field)
	require.ErrorIs(t, err, sqsonce.ErrInvalidConfig)
}

// gatedCompletions is a memstore whose completions wait for gate.
type gatedCompletions struct {
	*memstore.Store
	gate chan struct{}
}

func (s gatedCompletions) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.Complete(ctx, key, token, result, expiresAt)
}

func (s gatedCompletions) CompleteBatch(ctx context.Context, in []idempotency.CompleteInput) []error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		errs := make([]error, len(in))
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	}
	return s.Store.CompleteBatch(ctx, in)
}

// Config.Concurrency bounds the effects running at once, not the records
// waiting for their completions: while the first records' completions are
// held, the rest of the batch runs its effects, never more than Concurrency
// at a time, and every record succeeds once the completions are written.
func TestConcurrencyBoundsEffectsNotCompletions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := gatedCompletions{Store: memstore.New(), gate: make(chan struct{})}
		var running, most, ran atomic.Int32
		h, err := sqsonce.New(store, byID, func(_ context.Context, o order) (struct{}, error) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			ran.Add(1)
			return struct{}{}, nil
		}, sqsonce.Config{KeyPrefix: "gated", Concurrency: 2, Logger: quiet()})
		require.NoError(t, err)
		var recs []rec
		for i := range 6 {
			recs = append(recs, rec{msgID: fmt.Sprintf("m%d", i), o: order{fmt.Sprintf("o%d", i), "x", 1}})
		}
		done := make(chan sqsonce.Report[struct{}])
		go func() {
			report, err := h.Process(context.Background(), batch(standardARN, recs...))
			require.NoError(t, err)
			done <- report
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		require.EqualValues(t, 6, ran.Load(), "records waiting for their completions hold no slot")
		require.EqualValues(t, 2, most.Load(), "at most Concurrency effects at once")
		close(store.gate)
		report := <-done
		require.Empty(t, failures(report))
		require.Equal(t, 6, report.Counts.Executed)
	})
}
