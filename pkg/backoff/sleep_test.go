package backoff_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

func TestSleepWaits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		began := time.Now()
		require.NoError(t, backoff.Sleep(context.Background(), 20*time.Millisecond))
		require.Equal(t, 20*time.Millisecond, time.Since(began))
	})
}

func TestJitterIsBetweenHalfAndAll(t *testing.T) {
	t.Parallel()
	for range 1000 {
		d := backoff.Jitter(100 * time.Millisecond)
		require.True(t, d >= 50*time.Millisecond && d <= 100*time.Millisecond, "%s", d)
	}
	require.Zero(t, backoff.Jitter(0))
}

func TestSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, backoff.Sleep(ctx, time.Hour), context.Canceled)
}
