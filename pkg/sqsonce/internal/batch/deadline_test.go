package batch_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m-%02d", i)
	}
	return out
}

// TestDeadline gives the invocation a context 300 ms from its deadline and
// handlers that take longer: unstarted records are reported failed, running
// ones see their context cancelled, and Process returns before the deadline.
func TestDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		ignoreCtx bool // the handler ignores ctx and must be abandoned
		want      batch.Outcome
	}{
		{name: "handlers honour ctx", want: batch.OutcomeFailed},
		{name: "handlers ignore ctx", ignoreCtx: true, want: batch.OutcomeAbandoned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// In a synctest bubble the clock is fake: the deadline, the
			// safety margin and the abandon point are exact, however
			// loaded the machine is.
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				var started, sawCancel atomic.Int64
				h := func(ctx context.Context, _ events.SQSMessage) error {
					started.Add(1)
					if tc.ignoreCtx {
						<-release
						return nil
					}
					<-ctx.Done()
					sawCancel.Add(1)
					return fmt.Errorf("slow work: %w", ctx.Err())
				}
				p := newProcessor(t, h, batch.Config{Concurrency: 2})
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				began := time.Now()

				report, err := p.Process(ctx, standard(ids(10)...))
				require.NoError(t, err)
				// 300ms left: a safety margin of 75ms (a quarter of it),
				// records cut at 225ms, the processor returns by 262.5ms.
				require.LessOrEqual(t, time.Since(began), 263*time.Millisecond, "returned before the deadline")
				require.Len(t, report.Response.BatchItemFailures, 10)
				require.EqualValues(t, 2, started.Load(), "only the first two records start")
				require.Equal(t, 8, report.Counts.Deadline)
				for _, id := range ids(2) {
					got, _ := report.Outcome(id)
					require.Equal(t, tc.want, got, id)
				}
				if !tc.ignoreCtx {
					require.EqualValues(t, 2, sawCancel.Load())
				}
			})
		})
	}
}

func TestExpiredContextRunsNothing(t *testing.T) {
	t.Parallel()
	h := &scripted{}
	p := newProcessor(t, h.handle, batch.Config{})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	report, err := p.Process(ctx, standard("ok-1", "ok-2"))
	require.NoError(t, err)
	require.Equal(t, []string{"ok-1", "ok-2"}, failed(report.Response))
	require.Empty(t, h.runs())
	require.Equal(t, 2, report.Counts.Deadline)
}

func TestCancelledContextRunsNothing(t *testing.T) {
	t.Parallel()
	h := &scripted{}
	p := newProcessor(t, h.handle, batch.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	report, err := p.Process(ctx, standard("ok-1", "ok-2"))
	require.NoError(t, err)
	require.Equal(t, []string{"ok-1", "ok-2"}, failed(report.Response))
	require.Empty(t, h.runs())
}

// TestSafetyMarginUsesInjectedClock: with a clock that says the deadline is
// only a margin away, nothing starts, though real time has plenty left.
func TestSafetyMarginUsesInjectedClock(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	t.Cleanup(cancel) // after the parallel subtests, unlike defer
	deadline, _ := ctx.Deadline()
	tests := []struct {
		name string
		now  time.Time
		runs int
	}{
		{"plenty of time", deadline.Add(-time.Hour), 2},
		{"past the deadline", deadline.Add(time.Second), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &scripted{}
			p := newProcessor(t, h.handle, batch.Config{Now: func() time.Time { return tc.now }})
			_, err := p.Process(ctx, standard("ok-1", "ok-2"))
			require.NoError(t, err)
			require.Len(t, h.runs(), tc.runs)
		})
	}
}

var errOutage = errors.New("store unavailable")

func TestBreaker(t *testing.T) {
	t.Parallel()
	isOutage := func(err error) bool { return errors.Is(err, errOutage) }
	tests := []struct {
		name    string
		results []error // result of record i
		cfg     batch.Config
		runs    int
		breaker int
	}{
		{
			name:    "opens after N consecutive outages",
			results: []error{errOutage, errOutage, errOutage, nil, nil, nil, nil},
			cfg:     batch.Config{BreakAfter: 3, IsOutage: isOutage},
			runs:    3,
			breaker: 4,
		},
		{
			name:    "a success resets the count",
			results: []error{errOutage, errOutage, nil, errOutage, errOutage, nil, nil},
			cfg:     batch.Config{BreakAfter: 3, IsOutage: isOutage},
			runs:    7,
		},
		{
			name:    "other errors do not count",
			results: []error{errBoom, errBoom, errBoom, errBoom, nil},
			cfg:     batch.Config{BreakAfter: 2, IsOutage: isOutage},
			runs:    5,
		},
		{
			name:    "default IsOutage counts every non-permanent error",
			results: []error{errBoom, batch.Permanent(errBoom), errBoom, nil, nil},
			cfg:     batch.Config{BreakAfter: 2},
			runs:    3,
			breaker: 2,
		},
		{
			name:    "on by default, after BreakAfterDefault",
			results: []error{errOutage, errOutage, errOutage, errOutage, nil},
			runs:    batch.BreakAfterDefault,
			breaker: 5 - batch.BreakAfterDefault,
		},
		{
			name:    "off when negative",
			results: []error{errOutage, errOutage, errOutage, errOutage},
			cfg:     batch.Config{BreakAfter: -1},
			runs:    4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var runs atomic.Int64
			h := func(_ context.Context, msg events.SQSMessage) error {
				runs.Add(1)
				var i int
				_, _ = fmt.Sscanf(msg.MessageId, "m-%d", &i)
				return tc.results[i]
			}
			tc.cfg.Concurrency = 1 // completion order is batch order
			p := newProcessor(t, h, tc.cfg)
			report, err := p.Process(context.Background(), standard(ids(len(tc.results))...))
			require.NoError(t, err)
			require.EqualValues(t, tc.runs, runs.Load())
			require.Equal(t, tc.breaker, report.Counts.Breaker)
			for i, id := range ids(len(tc.results)) {
				o, _ := report.Outcome(id)
				if i >= tc.runs {
					require.Equal(t, batch.OutcomeBreaker, o, id)
				}
			}
		})
	}
}
