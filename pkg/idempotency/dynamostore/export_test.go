package dynamostore

import (
	"context"
	"time"
)

// SetSleep replaces the sleep between contended attempts, for tests that
// count the backoffs.
func SetSleep(s *Store, sleep func(ctx context.Context, d time.Duration) error) { s.sleep = sleep }
