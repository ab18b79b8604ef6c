package reliability_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// stalledWrites wraps the real client; its first TransactWriteItems (the
// ledger writes, in either mode) signals entered and waits for release,
// as a downstream stalled past the lease would.
type stalledWrites struct {
	*dynamodb.Client
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (s *stalledWrites) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	return s.Client.TransactWriteItems(ctx, in, optFns...)
}

// leaseConsumer is a real ledger consumer on tb whose guard reads clock;
// writes carries its DynamoDB traffic.
func leaseConsumer(t *testing.T, tb tables, mode ledger.Mode, writes dynamostore.API, clock func() time.Time) *ledger.Consumer {
	t.Helper()
	store, err := dynamostore.New(writes, tb.idem)
	require.NoError(t, err)
	guard, err := idempotency.NewGuard(store, idempotency.Config{KeyPrefix: keyPrefix, Lease: 30 * time.Second, Clock: clock})
	require.NoError(t, err)
	db, ok := writes.(ledger.TransactWriter)
	require.True(t, ok)
	c, err := ledger.NewConsumer(ledger.ConsumerConfig{
		Guard: guard, DB: db, Table: tb.ledger, Mode: mode, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return c
}

// TestExpiredLeaseTakeover stalls worker A's ledger writes past its lease;
// worker B, whose clock reads two minutes later, takes the key over and
// applies the event. When A's writes go through, fencing refuses them: in
// tx mode A's transaction (writes plus fenced completion) commits nothing,
// in plain mode the entry's condition stops the second write and the fenced
// completion fails. Either way the ledger holds one effect, A reports
// lease-lost (retryable), and A's redelivery replays B's result.
func TestExpiredLeaseTakeover(t *testing.T) {
	t.Parallel()
	for _, mode := range []ledger.Mode{ledger.ModeTx, ledger.ModePlain} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			tb := newTables(t)
			slow := &stalledWrites{Client: tb.db, entered: make(chan struct{}), release: make(chan struct{})}
			a := leaseConsumer(t, tb, mode, slow, time.Now)
			b := leaseConsumer(t, tb, mode, tb.db, func() time.Time { return time.Now().Add(2 * time.Minute) })
			e := event{ID: "evt-lease-" + string(mode), Account: "acc-lease", Amount: 4200}
			msg := events.SQSMessage{MessageId: "m-a", Body: e.body()}

			errA := make(chan error, 1)
			go func() { errA <- a.Handle(context.Background(), msg) }()
			<-slow.entered // A holds the claim and is inside its writes
			msg.MessageId = "m-b"
			require.NoError(t, b.Handle(context.Background(), msg), "B takes the expired lease over")
			close(slow.release)
			err := <-errA
			require.ErrorIs(t, err, idempotency.ErrLeaseLost)
			require.False(t, sqsbatch.IsPermanent(err), "a lost lease is retried, not dead-lettered")
			require.Equal(t, ledger.ClassLeaseLost, sqsbatch.ClassOf(err))

			msg.MessageId = "m-a2"
			require.NoError(t, a.Handle(context.Background(), msg), "A's redelivery replays")
			require.Equal(t, int64(1), a.Stats().Replayed)
			require.Equal(t, int64(1), b.Stats().Executed)
			requireExactlyOnce(t, tb, []event{e})
		})
	}
}
