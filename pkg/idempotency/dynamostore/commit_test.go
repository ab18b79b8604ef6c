package dynamostore_test

import (
	"context"
	"testing"

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

// downstream writes items of a ledger-shaped table (account "acc", entry =
// the item's name), each with a "value" attribute.
func downstream(client *dynamodb.Client, table string) storetest.Downstream[dynamostore.Write] {
	put := func(item, value string, ifAbsent bool) dynamostore.Write {
		p := &types.Put{
			TableName: aws.String(table),
			Item:      map[string]types.AttributeValue{"account": s("acc"), "entry": s(item), "value": s(value)},
		}
		if ifAbsent {
			p.ConditionExpression = aws.String("attribute_not_exists(#e)")
			p.ExpressionAttributeNames = map[string]string{"#e": "entry"}
		}
		return dynamostore.Put(p, "account", "entry")
	}
	return storetest.Downstream[dynamostore.Write]{
		Put:    func(item, value string) dynamostore.Write { return put(item, value, false) },
		PutNew: func(item, value string) dynamostore.Write { return put(item, value, true) },
		Read: func(t *testing.T, item string) (string, bool) {
			out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
				TableName: aws.String(table), ConsistentRead: aws.Bool(true),
				Key: map[string]types.AttributeValue{"account": s("acc"), "entry": s(item)},
			})
			require.NoError(t, err)
			if out.Item == nil {
				return "", false
			}
			return out.Item["value"].(*types.AttributeValueMemberS).Value, true
		},
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestCommitConformance(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	storetest.RunCommit(t,
		func(t *testing.T) storetest.CommitStore[dynamostore.Write] { return newStore(t, client) },
		func(t *testing.T, _ storetest.CommitStore[dynamostore.Write]) storetest.Downstream[dynamostore.Write] {
			return downstream(client, awstest.NewTable(t, client, awstest.LedgerTable))
		})
}

// Adds to one item from many effects are merged into one update of their
// exact sum, beyond what an int64 holds.
func TestAddsAreMergedAndSummedExactly(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	counter := awstest.NewRequestCounter()
	store := newStore(t, awstest.DynamoDB(t, counter.Option))
	table := awstest.NewTable(t, client, awstest.LedgerTable)
	key := map[string]types.AttributeValue{"account": s("acc"), "entry": s("#balance")}
	g := newGuard(t, store, nil)
	counter.Reset()
	res := guard.CommitBatch(context.Background(), g, []guard.TxItem[dynamostore.Write]{
		{Key: "e1", Writes: []dynamostore.Write{dynamostore.Add(table, key, "balance", 5e18), dynamostore.Add(table, key, "entries", 1)}},
		{Key: "e2", Writes: []dynamostore.Write{dynamostore.Add(table, key, "balance", 5e18+7), dynamostore.Add(table, key, "entries", 1)}},
	})
	for i, r := range res {
		require.NoError(t, r.Err, "item %d", i)
		require.Equal(t, guard.OutcomeExecuted, r.Result.Outcome)
	}
	require.Equal(t, map[string]int{"TransactWriteItems": 1}, counter.Counts(), "two effects, one request")
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	require.Equal(t, "10000000000000000007", out.Item["balance"].(*types.AttributeValueMemberN).Value)
	require.Equal(t, "2", out.Item["entries"].(*types.AttributeValueMemberN).Value)
}

// Writes DynamoDB would refuse fail their own effect with ErrInvalidWrite,
// before any request.
func TestInvalidWritesFailTheirEffect(t *testing.T) {
	t.Parallel()
	store, err := dynamostore.New(&dynamodb.Client{}, "unused")
	require.NoError(t, err)
	put := &types.Put{TableName: aws.String("t"), Item: map[string]types.AttributeValue{"pk": s("a")}}
	for _, tc := range []struct {
		name   string
		writes []dynamostore.Write
	}{
		{"empty write", []dynamostore.Write{{}}},
		{"put without key attributes", []dynamostore.Write{dynamostore.Put(put)}},
		{"put lacking a key attribute", []dynamostore.Write{dynamostore.Put(put, "pk", "sk")}},
		{"two writes to one item", []dynamostore.Write{dynamostore.Put(put, "pk"), dynamostore.Put(put, "pk")}},
		{"an add to an item put", []dynamostore.Write{dynamostore.Put(put, "pk"), dynamostore.Add("t", map[string]types.AttributeValue{"pk": s("a")}, "n", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := store.CommitBatch(context.Background(), []idempotency.CommitInput[dynamostore.Write]{{Key: "k", Writes: tc.writes}})
			require.ErrorIs(t, out[0].Err, dynamostore.ErrInvalidWrite)
		})
	}
}
