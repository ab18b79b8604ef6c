package dynamostore_test

import (
	"context"
	"fmt"
	"strings"
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

// singleTable is a single-table layout: the records share a table keyed by
// pk/sk with other items, under their own attribute names.
var singleTable = dynamostore.Layout{
	KeyAttr: "pk", SortKeyAttr: "sk", PartitionValue: "idem", Shards: 4,
	ExpirationAttr: "ttl", LeaseAttr: "lease_ms", StatusAttr: "state", ResultAttr: "result", PayloadAttr: "hash", TokenAttr: "owner",
}

func newSingleTableStore(t *testing.T, client *dynamodb.Client) *dynamostore.Store {
	t.Helper()
	store, _ := newSingleTable(t, client)
	return store
}

// newSingleTable is a store on a new table of the single-table layout, and
// the table's name.
func newSingleTable(t *testing.T, client *dynamodb.Client) (*dynamostore.Store, string) {
	t.Helper()
	table := awstest.NewTable(t, client, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "ttl"})
	store, err := dynamostore.New(client, table, dynamostore.WithLayout(singleTable))
	require.NoError(t, err)
	return store, table
}

func TestSingleTableConformance(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	t.Run("store", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) idempotency.Store { return newSingleTableStore(t, client) })
	})
	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		storetest.RunBatch(t, func(t *testing.T) storetest.BatchStore { return newSingleTableStore(t, client) })
	})
	t.Run("commit", func(t *testing.T) {
		t.Parallel()
		storetest.RunCommit(t,
			func(t *testing.T) storetest.CommitStore[dynamostore.Write] { return newSingleTableStore(t, client) },
			func(t *testing.T, _ storetest.CommitStore[dynamostore.Write]) storetest.Downstream[dynamostore.Write] {
				return downstream(client, awstest.NewTable(t, client, awstest.LedgerTable))
			})
	})
}

// In the single-table layout, records spread over the configured shards of
// the partition key, the sort key holds the stored key, and the attribute
// names are the layout's.
func TestSingleTableItems(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	store, table := newSingleTable(t, client)
	now := time.Now().Truncate(time.Second)
	g := newGuard(t, store, func(c *guard.Config) { c.Clock = func() time.Time { return now } })
	for i := range 40 {
		_, err := g.Do(context.Background(), string(rune('a'+i%26))+strings.Repeat("x", i), []byte("p"),
			func(context.Context) ([]byte, error) { return []byte("r"), nil })
		require.NoError(t, err)
	}
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.Len(t, out.Items, 41, "40 records and the layout item")
	shards := map[string]bool{}
	for _, item := range out.Items {
		pk := item["pk"].(*types.AttributeValueMemberS).Value
		if pk == dynamostore.LayoutItemKey {
			require.Equal(t, dynamostore.LayoutItemKey, item["sk"].(*types.AttributeValueMemberS).Value)
			continue
		}
		require.True(t, strings.HasPrefix(pk, "idem#"), pk)
		shards[pk] = true
		require.True(t, strings.HasPrefix(item["sk"].(*types.AttributeValueMemberS).Value, "test#"))
		require.Equal(t, "COMPLETED", item["state"].(*types.AttributeValueMemberS).Value)
		require.Contains(t, item, "ttl")
		require.NotContains(t, item, "id")
		require.NotContains(t, item, "status")
	}
	require.Len(t, shards, 4, "40 keys over 4 shards use every shard")
	rec, err := store.Get(context.Background(), idempotency.StoredKey("test", "a"))
	require.NoError(t, err)
	require.Equal(t, "r", string(rec.Result))
	require.Equal(t, now.Add(idempotency.TTLDefault).Unix(), rec.ExpiresAt.Unix())
}

// Every invalid argument of New is a *ConfigError naming it.
func TestNewNamesTheInvalidField(t *testing.T) {
	t.Parallel()
	client := &dynamodb.Client{}
	for _, tc := range []struct {
		name  string
		api   dynamostore.API
		table string
		opt   dynamostore.Option
		field string
	}{
		{"no client", nil, "t", nil, "api"},
		{"no table", client, "", nil, "table"},
		{"no transactions", client, "t", dynamostore.WithTxConcurrency(-1), "WithTxConcurrency"},
		{"attribute used twice", client, "t", dynamostore.WithLayout(dynamostore.Layout{StatusAttr: "id"}), "Layout"},
		{"no shards", client, "t", dynamostore.WithLayout(dynamostore.Layout{SortKeyAttr: "sk", Shards: -1}), "Layout.Shards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []dynamostore.Option
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			_, err := dynamostore.New(tc.api, tc.table, opts...)
			require.ErrorIs(t, err, dynamostore.ErrInvalidConfig)
			var cerr *dynamostore.ConfigError
			require.ErrorAs(t, err, &cerr)
			require.Equal(t, tc.field, cerr.Field)
		})
	}
}

// A composite layout's settings decide where a record lives, so a store
// whose settings differ from the ones the table's records were written
// under (a changed IdempotencyShards or partition value, or two versions
// side by side during a deployment) is refused, naming what differs,
// before it can miss a record and run its duplicate again.
func TestChangedLayoutIsRefused(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	for _, tc := range []struct {
		name   string
		change func(*dynamostore.Layout)
		diff   dynamostore.LayoutDiff
	}{
		{"shards", func(l *dynamostore.Layout) { l.Shards = 8 }, dynamostore.LayoutDiff{Field: "Shards", Table: "4", This: "8"}},
		{"partition value", func(l *dynamostore.Layout) { l.PartitionValue = "records" }, dynamostore.LayoutDiff{Field: "PartitionValue", Table: "idem", This: "records"}},
		{"expiration attribute", func(l *dynamostore.Layout) { l.ExpirationAttr = "expires" }, dynamostore.LayoutDiff{Field: "ExpirationAttr", Table: "ttl", This: "expires"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			old, table := newSingleTable(t, client)
			var runs atomic.Int32
			work := func(context.Context) ([]byte, error) { runs.Add(1); return []byte("done"), nil }
			const events = 16 // over 4 shards then 8: most keys move
			for i := range events {
				_, err := newGuard(t, old, nil).Do(ctx, fmt.Sprintf("evt-%d", i), []byte("p"), work)
				require.NoError(t, err)
			}
			changed := singleTable
			tc.change(&changed)
			next, err := dynamostore.New(client, table, dynamostore.WithLayout(changed))
			require.NoError(t, err, "New sends nothing")
			g := newGuard(t, next, nil)
			for i := range events {
				_, err := g.Do(ctx, fmt.Sprintf("evt-%d", i), []byte("p"), work)
				require.ErrorIs(t, err, dynamostore.ErrLayoutMismatch, "evt-%d", i)
				require.ErrorIs(t, err, idempotency.ErrStoreFailed)
			}
			require.EqualValues(t, events, runs.Load(), "no duplicate ran again")
			err = next.CheckLayout(ctx)
			var lerr *dynamostore.LayoutMismatchError
			require.ErrorAs(t, err, &lerr)
			require.Equal(t, table, lerr.Table)
			require.Equal(t, []dynamostore.LayoutDiff{tc.diff}, lerr.Diffs)
			require.NoError(t, old.CheckLayout(ctx), "the table keeps its first layout")
		})
	}
}

// Refused from the start: CheckLayout at a cold start, and every kind of
// request after it (a batch's claims, a commit, a read).
func TestChangedLayoutIsRefusedEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.DynamoDB(t)
	first, table := newSingleTable(t, client)
	require.NoError(t, first.CheckLayout(ctx), "writes the layout item")
	require.NoError(t, first.CheckLayout(ctx), "and finds it again")
	changed := singleTable
	changed.Shards = 2
	next, err := dynamostore.New(client, table, dynamostore.WithLayout(changed))
	require.NoError(t, err)
	now := time.Now()
	in := idempotency.ClaimInput{Key: "k", Token: "t", Now: now, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	claims, err := next.ClaimBatch(ctx, []idempotency.ClaimInput{in})
	require.NoError(t, err)
	require.ErrorIs(t, claims[0].Err, dynamostore.ErrLayoutMismatch)
	out := next.CommitBatch(ctx, []idempotency.CommitInput[dynamostore.Write]{{Key: "k", Now: now, ExpiresAt: now.Add(time.Hour)}})
	require.ErrorIs(t, out[0].Err, dynamostore.ErrLayoutMismatch)
	_, err = next.Get(ctx, "k")
	require.ErrorIs(t, err, dynamostore.ErrLayoutMismatch)
}

// The same layout in a new store (a new execution environment, the next
// version) finds the records; a reader never writes the layout item, so a
// mistyped inspect cannot pin a wrong layout on a table.
func TestSameLayoutFindsTheRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.DynamoDB(t)
	table := awstest.NewTable(t, client, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "ttl"})
	reader, err := dynamostore.New(client, table, dynamostore.WithLayout(singleTable))
	require.NoError(t, err)
	_, err = reader.Get(ctx, idempotency.StoredKey("test", "evt-1"))
	require.ErrorIs(t, err, idempotency.ErrNotFound)
	items, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.Empty(t, items.Items, "a read wrote nothing")

	var runs atomic.Int32
	work := func(context.Context) ([]byte, error) { runs.Add(1); return []byte("done"), nil }
	for range 2 {
		store, err := dynamostore.New(client, table, dynamostore.WithLayout(singleTable))
		require.NoError(t, err)
		_, err = newGuard(t, store, nil).Do(ctx, "evt-1", []byte("p"), work)
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, runs.Load())
}

// A table of its own has no layout item (its key is the stored key, which
// no setting changes), and a changed attribute name still meets the record
// (the claim's condition fails on the key), so its duplicate does not run.
func TestOwnTableHasNoLayoutItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.DynamoDB(t)
	table := awstest.NewTable(t, client, awstest.IdempotencyTable)
	store, err := dynamostore.New(client, table)
	require.NoError(t, err)
	require.NoError(t, store.CheckLayout(ctx))
	var runs atomic.Int32
	work := func(context.Context) ([]byte, error) { runs.Add(1); return []byte("done"), nil }
	_, err = newGuard(t, store, nil).Do(ctx, "evt-1", []byte("p"), work)
	require.NoError(t, err)
	items, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.Len(t, items.Items, 1, "the record alone")

	renamed, err := dynamostore.New(client, table, dynamostore.WithLayout(dynamostore.Layout{StatusAttr: "state", ExpirationAttr: "ttl"}))
	require.NoError(t, err)
	_, err = newGuard(t, renamed, nil).Do(ctx, "evt-1", []byte("p"), work)
	require.Error(t, err)
	require.EqualValues(t, 1, runs.Load(), "the duplicate did not run")
}
