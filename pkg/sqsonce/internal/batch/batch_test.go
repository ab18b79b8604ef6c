package batch_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// waves records the waves a BatchHandler is given, and fails the records
// named in fail (permanently those in perm).
type waves struct {
	fail, perm map[string]bool
	mu         sync.Mutex
	got        [][]string
}

func failing(ids ...string) *waves {
	w := &waves{fail: map[string]bool{}, perm: map[string]bool{}}
	for _, id := range ids {
		w.fail[id] = true
	}
	return w
}

func (w *waves) handle(_ context.Context, msgs []events.SQSMessage) []error {
	ids := make([]string, len(msgs))
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		ids[i] = m.MessageId
		switch {
		case w.fail[m.MessageId]:
			errs[i] = errBoom
		case w.perm[m.MessageId]:
			errs[i] = batch.Permanent(errBoom)
		}
	}
	w.mu.Lock()
	w.got = append(w.got, ids)
	w.mu.Unlock()
	return errs
}

func TestBatchHandlerWaves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		event    events.SQSEvent
		fail     []string
		mode     batch.FIFOMode
		waves    [][]string
		failures []string
		skipped  int
	}{
		{name: "standard: one wave", event: standard("a", "b", "c"), fail: []string{"b"},
			waves: [][]string{{"a", "b", "c"}}, failures: []string{"b"}},
		{name: "fair queue (group IDs on a standard queue): one wave", event: withARN(fifo("A1", "A2", "A3"), standardARN),
			waves: [][]string{{"A1", "A2", "A3"}}, failures: []string{}},
		{name: "FIFO: one record per group a wave, in order", event: fifo("A1", "B1", "A2", "A3", "B2"),
			waves: [][]string{{"A1", "B1"}, {"A2", "B2"}, {"A3"}}, failures: []string{}},
		{name: "FIFO: a failure stops its group only", event: fifo("A1", "A2", "A3", "B1", "B2"), fail: []string{"A2"},
			waves: [][]string{{"A1", "B1"}, {"A2", "B2"}}, failures: []string{"A2", "A3"}, skipped: 1},
		{name: "FIFO strict: one record a wave, all stop", event: fifo("A1", "B1", "A2"), fail: []string{"B1"}, mode: batch.FIFOStrict,
			waves: [][]string{{"A1"}, {"B1"}}, failures: []string{"B1", "A2"}, skipped: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := failing(tc.fail...)
			report, err := newBatchProcessor(t, w.handle, batch.Config{FIFOMode: tc.mode}).Process(context.Background(), tc.event)
			require.NoError(t, err)
			require.Equal(t, tc.waves, w.got)
			require.Equal(t, tc.failures, failed(report.Response))
			require.Equal(t, tc.skipped, report.Counts.Skipped)
		})
	}
}

// The breaker opens on outages in one wave and stops the next; a panic or
// a result of the wrong length fails the wave's records, reported.
func TestBatchHandlerFailures(t *testing.T) {
	t.Parallel()
	t.Run("breaker", func(t *testing.T) {
		t.Parallel()
		w := failing("A1", "B1", "C1")
		p := newBatchProcessor(t, w.handle, batch.Config{BreakAfter: 2})
		report, err := p.Process(context.Background(), fifo("A1", "B1", "C1", "D1", "D2"))
		require.NoError(t, err)
		require.Equal(t, [][]string{{"A1", "B1", "C1", "D1"}}, w.got, "the outages of the first wave open the breaker for the next")
		o, _ := report.Outcome("D2")
		require.Equal(t, batch.OutcomeBreaker, o)
	})
	t.Run("panic", func(t *testing.T) {
		t.Parallel()
		p := newBatchProcessor(t, func(context.Context, []events.SQSMessage) []error { panic("boom") }, batch.Config{})
		report, err := p.Process(context.Background(), standard("a", "b"))
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, failed(report.Response))
		require.Equal(t, 2, report.Counts.Panicked)
	})
	t.Run("wrong length", func(t *testing.T) {
		t.Parallel()
		p := newBatchProcessor(t, func(context.Context, []events.SQSMessage) []error { return nil }, batch.Config{})
		report, err := p.Process(context.Background(), standard("a", "b"))
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, failed(report.Response))
	})
	t.Run("permanent to the DLQ", func(t *testing.T) {
		t.Parallel()
		sender := &recordingSender{}
		w := failing()
		w.perm["perm-b"] = true
		p := newBatchProcessor(t, w.handle, batch.Config{DLQ: &batch.DLQ{Client: sender, QueueURL: "https://sqs/dlq"}})
		report, err := p.Process(context.Background(), standard("a", "perm-b"))
		require.NoError(t, err)
		require.Empty(t, failed(report.Response))
		require.Len(t, sender.inputs(), 1)
	})
}

// No wave starts after the safety margin; a wave that does not end by the
// abandon point is reported, and the processor returns before the deadline.
func TestBatchHandlerDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls int
		p := newBatchProcessor(t, func(ctx context.Context, msgs []events.SQSMessage) []error {
			calls++
			time.Sleep(1400 * time.Millisecond) // waves start at 0, 1.4s, ... 7s
			return make([]error, len(msgs))
		}, batch.Config{SafetyMargin: 2 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		report, err := p.Process(ctx, fifo("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"))
		require.NoError(t, err)
		require.NoError(t, ctx.Err())
		require.Equal(t, 6, calls, "no wave starts after 8s (10s - the 2s margin)")
		require.Equal(t, []string{"A7", "A8", "A9"}, failed(report.Response))
		require.Equal(t, 3, report.Counts.Deadline)
	})
}
