package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// newStore gives the test its own idempotency table on the local AWS.
func newStore(t *testing.T, client *dynamodb.Client) *dynamostore.Store {
	t.Helper()
	store, err := dynamostore.New(client, awstest.NewTable(t, client, awstest.IdempotencyTable))
	require.NoError(t, err)
	return store
}

func newGuard(t *testing.T, store idempotency.Store, mutate func(*guard.Config)) *guard.Guard {
	t.Helper()
	// No local cache: these tests count what the store itself does.
	cfg := guard.Config{KeyPrefix: "test", CacheSize: -1}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := guard.NewGuard(store, cfg)
	require.NoError(t, err)
	return g
}

func TestConformance(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	storetest.Run(t, func(t *testing.T) idempotency.Store { return newStore(t, client) })
}

// 32 goroutines claim each of 200 keys at once: each key's work runs once.
func TestConcurrentDuplicatesExecuteOnce(t *testing.T) {
	t.Parallel()
	const keys, workers = 200, 32
	g := newGuard(t, newStore(t, awstest.DynamoDB(t)), nil)
	runs := make([]atomic.Int32, keys)
	sem := make(chan struct{}, 4) // keys in flight; all 32 claims of a key race
	var wg sync.WaitGroup
	for k := range keys {
		sem <- struct{}{}
		var keyWG sync.WaitGroup
		start := make(chan struct{})
		for range workers {
			keyWG.Add(1)
			go func() {
				defer keyWG.Done()
				<-start
				_, err := g.Do(context.Background(), fmt.Sprintf("evt-%d", k), []byte("p"), func(context.Context) ([]byte, error) {
					runs[k].Add(1)
					return []byte("done"), nil
				})
				if err != nil && !errors.Is(err, idempotency.ErrInProgress) {
					t.Errorf("key %d: %v", k, err)
				}
			}()
		}
		close(start)
		wg.Add(1)
		go func() {
			defer wg.Done()
			keyWG.Wait()
			<-sem
		}()
	}
	wg.Wait()
	for k := range runs {
		require.EqualValues(t, 1, runs[k].Load(), "key %d", k)
	}
}

func TestDuplicateCostsOneRequest(t *testing.T) {
	t.Parallel()
	counter := awstest.NewRequestCounter()
	g := newGuard(t, newStore(t, awstest.DynamoDB(t, counter.Option)), nil)
	ctx := context.Background()
	counter.Reset() // the table's creation
	_, err := g.Do(ctx, "evt-1", []byte("p"), func(context.Context) ([]byte, error) { return []byte(`{"n":1}`), nil })
	require.NoError(t, err)
	require.Equal(t, map[string]int{"PutItem": 1, "UpdateItem": 1}, counter.Counts(), "a new key: claim and complete")

	counter.Reset()
	res, err := g.Do(ctx, "evt-1", []byte("p"), func(context.Context) ([]byte, error) {
		t.Fatal("a duplicate must not run")
		return nil, nil
	})
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeReplayed, res.Outcome)
	require.Equal(t, `{"n":1}`, string(res.Data))
	require.Equal(t, map[string]int{"PutItem": 1}, counter.Counts(), "a duplicate: one conditional put, no read")
}

// A worker claims and dies: once its lease expires the key is taken over and
// the work runs again, once.
func TestCrashedClaimIsTakenOverAfterLease(t *testing.T) {
	t.Parallel()
	store := newStore(t, awstest.DynamoDB(t))
	now := time.Now()
	key := idempotency.StoredKey("test", "evt-1")
	_, err := store.Claim(context.Background(), idempotency.ClaimInput{
		Key: key, Token: "crashed", PayloadHash: idempotency.PayloadHash([]byte("p")),
		Now: now, LeaseUntil: now.Add(time.Second), ExpiresAt: now.Add(time.Hour),
	})
	require.NoError(t, err)

	var runs atomic.Int32
	work := func(context.Context) ([]byte, error) { runs.Add(1); return nil, nil }
	early := newGuard(t, store, func(c *guard.Config) { c.Clock = func() time.Time { return now.Add(500 * time.Millisecond) } })
	_, err = early.Do(context.Background(), "evt-1", []byte("p"), work)
	require.ErrorIs(t, err, idempotency.ErrInProgress)

	later := newGuard(t, store, func(c *guard.Config) { c.Clock = func() time.Time { return now.Add(2 * time.Second) } })
	for range 3 { // the takeover, then duplicates
		_, err = later.Do(context.Background(), "evt-1", []byte("p"), work)
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, runs.Load())
}

// A claims; A's lease expires; B claims and completes; A's Complete is
// refused.
func TestZombieIsFencedOut(t *testing.T) {
	t.Parallel()
	store := newStore(t, awstest.DynamoDB(t))
	now := time.Now()
	zombie := newGuard(t, store, func(c *guard.Config) { c.Lease = time.Second; c.Clock = func() time.Time { return now } })
	winner := newGuard(t, store, func(c *guard.Config) { c.Clock = func() time.Time { return now.Add(2 * time.Second) } })
	ctx := context.Background()
	stalled, resume := make(chan struct{}), make(chan struct{})
	zombieDone := make(chan error, 1)
	go func() {
		_, err := zombie.Do(ctx, "evt-1", nil, func(context.Context) ([]byte, error) {
			close(stalled)
			<-resume
			return []byte("zombie"), nil
		})
		zombieDone <- err
	}()
	<-stalled
	_, err := winner.Do(ctx, "evt-1", nil, func(context.Context) ([]byte, error) { return []byte("winner"), nil })
	require.NoError(t, err)
	close(resume)
	require.ErrorIs(t, <-zombieDone, idempotency.ErrLeaseLost)
	rec, err := store.Get(ctx, idempotency.StoredKey("test", "evt-1"))
	require.NoError(t, err)
	require.Equal(t, "winner", string(rec.Result))
}

func TestPayloadMismatchDoesNotRun(t *testing.T) {
	t.Parallel()
	g := newGuard(t, newStore(t, awstest.DynamoDB(t)), nil)
	var runs atomic.Int32
	work := func(context.Context) ([]byte, error) { runs.Add(1); return nil, nil }
	_, err := g.Do(context.Background(), "evt-1", []byte(`{"amount":1}`), work)
	require.NoError(t, err)
	_, err = g.Do(context.Background(), "evt-1", []byte(`{"amount":2}`), work)
	require.ErrorIs(t, err, idempotency.ErrPayloadMismatch)
	require.EqualValues(t, 1, runs.Load())
}

func TestHandlerErrorReleasesForNextDelivery(t *testing.T) {
	t.Parallel()
	g := newGuard(t, newStore(t, awstest.DynamoDB(t)), nil)
	var runs atomic.Int32
	_, err := g.Do(context.Background(), "evt-1", nil, func(context.Context) ([]byte, error) {
		runs.Add(1)
		return nil, fmt.Errorf("downstream timeout")
	})
	var herr *guard.HandlerError
	require.ErrorAs(t, err, &herr)
	require.True(t, herr.Released)
	res, err := g.Do(context.Background(), "evt-1", nil, func(context.Context) ([]byte, error) { runs.Add(1); return nil, nil })
	require.NoError(t, err)
	require.Equal(t, guard.OutcomeExecuted, res.Outcome)
	require.EqualValues(t, 2, runs.Load())
}

func TestStoredAttributes(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	table := awstest.NewTable(t, client, awstest.IdempotencyTable)
	store, err := dynamostore.New(client, table)
	require.NoError(t, err)
	g := newGuard(t, store, func(c *guard.Config) { c.TTL = time.Hour; c.Lease = time.Minute })
	key := idempotency.StoredKey("test", "card-4111")
	raw := func() map[string]types.AttributeValue {
		out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}}, ConsistentRead: aws.Bool(true),
		})
		require.NoError(t, err)
		require.NotNil(t, out.Item)
		return out.Item
	}
	numberNear := func(item map[string]types.AttributeValue, attr string, want int64, slack int64) {
		n, ok := item[attr].(*types.AttributeValueMemberN)
		require.True(t, ok, "%s is a Number, got %T", attr, item[attr])
		got, err := strconv.ParseInt(n.Value, 10, 64)
		require.NoError(t, err)
		require.InDelta(t, want, got, float64(slack), attr)
	}
	_, err = g.Do(context.Background(), "card-4111", []byte("p"), func(context.Context) ([]byte, error) {
		item := raw()
		numberNear(item, "expiration", time.Now().Add(time.Hour).Unix(), 5)                       // epoch seconds
		numberNear(item, "in_progress_expiration", time.Now().Add(time.Minute).UnixMilli(), 5000) // epoch ms
		require.Equal(t, "INPROGRESS", item["status"].(*types.AttributeValueMemberS).Value)
		return []byte(`{"ok":true}`), nil
	})
	require.NoError(t, err)
	item := raw()
	require.Equal(t, "COMPLETED", item["status"].(*types.AttributeValueMemberS).Value)
	require.Equal(t, `{"ok":true}`, item["data"].(*types.AttributeValueMemberS).Value)
	require.Equal(t, idempotency.PayloadHash([]byte("p")), item["validation"].(*types.AttributeValueMemberS).Value)
	numberNear(item, "expiration", time.Now().Add(time.Hour).Unix(), 5)
	for attr, v := range item {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			require.NotContains(t, s.Value, "4111", "raw business keys never land in the table (%s)", attr)
		}
	}
}

// With the store unreachable the function does not run and the error is
// typed.
func TestStoreUnreachable(t *testing.T) {
	t.Parallel()
	client := dynamodb.NewFromConfig(awstest.Config(t), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://" + awstest.ClosedAddr(t))
	})
	store, err := dynamostore.New(client, "unreachable")
	require.NoError(t, err)
	g := newGuard(t, store, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var runs atomic.Int32
	_, err = g.Do(ctx, "evt-1", nil, func(context.Context) ([]byte, error) { runs.Add(1); return nil, nil })
	require.ErrorIs(t, err, idempotency.ErrStoreFailed)
	require.Zero(t, runs.Load())
}

func TestBatchConformance(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	storetest.RunBatch(t, func(t *testing.T) storetest.BatchStore { return newStore(t, client) })
}
