// Package backoff waits between retries: for a duration unless a context
// ends first, and jittered, so that retries of many workers spread out.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits for d, or until ctx ends. It returns ctx.Err() if ctx ended
// first and nil otherwise; a d of zero or less returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Jitter returns a duration between d/2 and d, chosen at random ("equal
// jitter"): retries of many workers spread out instead of colliding again.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
