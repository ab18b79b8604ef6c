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

	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// stalledWrites wraps the real client; its first TransactWriteItems (the
// ledger writes, on either path) signals entered and waits for release,
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

// paths are the two consumer paths: the default one (consumer.New:
// DynamoDB effects committed with their records), and any effect
// (sqsonce.New with ledger.ApplyOnce), each over api for its DynamoDB
// traffic, with clock.
var paths = []struct {
	name string
	make func(t *testing.T, tb tables, api *stalledWrites, db *dynamodb.Client, clock func() time.Time) *sqsonce.Handler[ledger.Receipt]
}{
	{"dynamodb", func(t *testing.T, tb tables, api *stalledWrites, db *dynamodb.Client, clock func() time.Time) *sqsonce.Handler[ledger.Receipt] {
		store, err := dynamostore.New(dbOr(api, db), tb.idem)
		require.NoError(t, err)
		h, err := sqsonce.NewDynamoDB(store, ledgerMessage(), func(_ context.Context, e ledger.Event) (sqsonce.Effect[ledger.Receipt], error) {
			return ledger.Apply(tb.ledger, e), nil
		}, sqsonce.Config{KeyPrefix: keyPrefix, Clock: clock, Logger: quietLog()})
		require.NoError(t, err)
		return h
	}},
	{"any-effect", func(t *testing.T, tb tables, api *stalledWrites, db *dynamodb.Client, clock func() time.Time) *sqsonce.Handler[ledger.Receipt] {
		store, err := dynamostore.New(db, tb.idem)
		require.NoError(t, err)
		writes := ledger.TransactWriter(db)
		if api != nil {
			writes = api
		}
		h, err := sqsonce.New(store, ledgerMessage(), func(ctx context.Context, e ledger.Event) (ledger.Receipt, error) {
			return ledger.ApplyOnce(ctx, writes, tb.ledger, e)
		}, sqsonce.Config{KeyPrefix: keyPrefix, Clock: clock, Logger: quietLog()})
		require.NoError(t, err)
		return h
	}},
}

func dbOr(api *stalledWrites, db *dynamodb.Client) dynamostore.API {
	if api != nil {
		return api
	}
	return db
}

func ledgerMessage() sqsonce.Message[ledger.Event] {
	return ledger.Message(sqskey.Source{Kind: sqskey.BodyField})
}

func quietLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// TestStalledWorker stalls worker A's ledger writes; worker B, whose clock
// reads two minutes later (A's lease has expired), handles the same event.
//
//   - any effect: B takes the expired claim over and applies the event;
//     when A's writes go through, the entry's condition stops them
//     (ledger.ApplyOnce) and A's fenced completion fails: A reports
//     lease-lost (retryable) and its redelivery replays B's result.
//   - DynamoDB effects: there is no lease; B commits the event with its
//     record, and A's transaction, record and writes together, fails on B's
//     record: A replays.
//
// Either way the ledger holds the effect once.
func TestStalledWorker(t *testing.T) {
	t.Parallel()
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			tb := newTables(t)
			slow := &stalledWrites{Client: tb.db, entered: make(chan struct{}), release: make(chan struct{})}
			a := p.make(t, tb, slow, tb.db, time.Now)
			b := p.make(t, tb, nil, tb.db, func() time.Time { return time.Now().Add(2 * time.Minute) })
			e := event{ID: "evt-stall-" + p.name, Account: "acc-stall", Amount: 4200}
			batch := func(id string) events.SQSEvent {
				return events.SQSEvent{Records: []events.SQSMessage{{MessageId: id, Body: e.body(), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:q"}}}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // A's lease: 35s
			defer cancel()
			reportA, errA := make(chan sqsonce.Report[ledger.Receipt], 1), make(chan error, 1)
			go func() {
				r, err := a.Process(ctx, batch("m-a"))
				reportA <- r
				errA <- err
			}()
			<-slow.entered // A is inside its writes
			rb, err := b.Process(context.Background(), batch("m-b"))
			require.NoError(t, err)
			require.Empty(t, rb.Response.BatchItemFailures, "B applies the event")
			require.Equal(t, 1, rb.Counts.Executed)
			close(slow.release)
			ra := <-reportA
			require.NoError(t, <-errA)
			switch p.name {
			case "any-effect":
				require.Equal(t, 1, ra.Counts.LeaseLost)
				o, _ := ra.Outcome("m-a")
				require.Equal(t, sqsonce.OutcomeFailed, o, "a lost lease is retried, not dead-lettered")
				r2, err := a.Process(context.Background(), batch("m-a2"))
				require.NoError(t, err)
				require.Equal(t, 1, r2.Counts.Replayed, "A's redelivery replays")
			case "dynamodb":
				require.Equal(t, 1, ra.Counts.Replayed, "A's transaction found B's record")
				require.Empty(t, ra.Response.BatchItemFailures)
			}
			requireExactlyOnce(t, tb, []event{e})
		})
	}
}
