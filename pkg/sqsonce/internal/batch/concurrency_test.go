package batch_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// TestConcurrencyBound runs 1,000 records with a limit of 8. The first
// handlers wait until 8 run at once, which proves the pool reaches its limit
// (with fewer workers the test would hang until its failsafe); the atomic
// maximum proves it never exceeds it.
func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	const limit, records = 8, 1000
	var running, maxRunning, ran atomic.Int64
	full := make(chan struct{})
	closeFull := sync.OnceFunc(func() { close(full) })
	failsafe, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	h := func(ctx context.Context, _ events.SQSMessage) error {
		n := running.Add(1)
		defer running.Add(-1)
		for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
		}
		if n == limit {
			closeFull()
		}
		select {
		case <-full:
		case <-failsafe.Done():
			return fmt.Errorf("never reached %d concurrent handlers: %w", limit, failsafe.Err())
		}
		ran.Add(1)
		return nil
	}
	ids := make([]string, records)
	for i := range ids {
		ids[i] = fmt.Sprintf("m-%04d", i)
	}
	p := newProcessor(t, h, batch.Config{Concurrency: limit})
	report, err := p.Process(context.Background(), standard(ids...))
	require.NoError(t, err)
	require.Empty(t, report.Response.BatchItemFailures)
	require.EqualValues(t, limit, maxRunning.Load())
	require.EqualValues(t, records, ran.Load())
	require.Equal(t, records, report.Counts.Succeeded)
}
