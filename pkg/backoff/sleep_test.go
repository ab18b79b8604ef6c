package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

func TestForWaits(t *testing.T) {
	t.Parallel()
	began := time.Now()
	require.NoError(t, backoff.Sleep(context.Background(), 20*time.Millisecond))
	require.GreaterOrEqual(t, time.Since(began), 20*time.Millisecond)
}

func TestForEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, backoff.Sleep(ctx, time.Hour), context.Canceled)
}
