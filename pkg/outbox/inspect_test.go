package outbox_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// Inspect counts pending, sent and failed items, and Resend makes a failed
// one pending again.
func TestInspectAndResend(t *testing.T) {
	t.Parallel()
	c := newChain(t)
	missing := c.fifo.URL[:len(c.fifo.URL)-len(".fifo")] + "-gone.fifo"
	c.to = func(ch change) outbox.Destination {
		if ch.ID == "c2" {
			return outbox.SQS{QueueURL: missing, GroupID: ch.Account}
		}
		return outbox.SQS{QueueURL: c.fifo.URL, GroupID: ch.Account}
	}
	c.commit(t, change{"c1", "a", 1}, change{"c2", "a", 2})
	s, _, err := outbox.Inspect(context.Background(), c.db, c.table)
	require.NoError(t, err)
	require.Equal(t, 2, s.Pending)
	require.False(t, s.OldestPending.IsZero())

	c.relay(t, nil).Process(context.Background(), c.stream(t))
	c.commit(t, change{"c3", "b", 3})
	s, all, err := outbox.Inspect(context.Background(), c.db, c.table)
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, 1, s.Pending)
	require.Equal(t, 1, s.Sent)
	require.Len(t, s.Failed, 1)
	require.Equal(t, outbox.EventID("changes", "c2", 0), s.Failed[0].ID)

	require.NoError(t, outbox.Resend(context.Background(), c.db, c.table, s.Failed[0]))
	s, _, err = outbox.Inspect(context.Background(), c.db, c.table)
	require.NoError(t, err)
	require.Equal(t, 2, s.Pending)
	require.Empty(t, s.Failed)
}
