package dynamostore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
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
	g := newGuard(t, store, func(c *idempotency.Config) { c.Clock = func() time.Time { return now } })
	for i := range 40 {
		_, err := g.Do(context.Background(), string(rune('a'+i%26))+strings.Repeat("x", i), []byte("p"),
			func(context.Context) ([]byte, error) { return []byte("r"), nil })
		require.NoError(t, err)
	}
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.Len(t, out.Items, 40)
	shards := map[string]bool{}
	for _, item := range out.Items {
		pk := item["pk"].(*types.AttributeValueMemberS).Value
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
	require.Equal(t, now.Add(time.Hour).Unix(), rec.ExpiresAt.Unix())
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
