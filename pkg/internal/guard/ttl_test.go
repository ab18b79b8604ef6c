package guard_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// A message redriven from a DLQ on the last day of its retention (14 days
// from its first send, the longest SQS keeps a message) finds its record
// under the default TTL and is replayed, not run again.
func TestDefaultTTLCoversARedriveFromTheDLQ(t *testing.T) {
	t.Parallel()
	const retention = 14 * 24 * time.Hour // SQS MessageRetentionPeriod at most
	require.GreaterOrEqual(t, idempotency.TTLDefault, retention)
	require.Equal(t, idempotency.TTLDefault, guard.Config{}.WithDefaults().TTL)

	sent := time.Now()
	var now atomic.Pointer[time.Time]
	now.Store(&sent)
	g, err := guard.NewGuard(memstore.New(), guard.Config{KeyPrefix: "p", Clock: func() time.Time { return *now.Load() }})
	require.NoError(t, err)
	var runs atomic.Int32
	work := func(context.Context) ([]byte, error) { runs.Add(1); return []byte("done"), nil }
	_, err = g.Do(context.Background(), "evt-1", []byte("p"), work)
	require.NoError(t, err)

	redrive := sent.Add(retention - time.Minute)
	now.Store(&redrive)
	res, err := g.Do(context.Background(), "evt-1", []byte("p"), work)
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeReplayed, res.Outcome)
	require.EqualValues(t, 1, runs.Load(), "the redriven message did not run again")
}
