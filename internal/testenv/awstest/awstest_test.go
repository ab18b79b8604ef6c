package awstest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

func TestNewTableEnablesTTL(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	name := awstest.NewTable(t, client, awstest.IdempotencyTable)
	out, err := client.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	require.NoError(t, err)
	require.Equal(t, "expiration", aws.ToString(out.TimeToLiveDescription.AttributeName))
}

func TestNewQueueHasRedrive(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true})
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	require.NoError(t, err)
	require.Contains(t, out.Attributes["RedrivePolicy"], q.DLQARN)
	require.Equal(t, "true", out.Attributes["FifoQueue"])
}

// TestCancelledTransactionWritesNothing holds the local DynamoDB to what the
// idempotency store's transactions rely on: a cancelled TransactWriteItems
// leaves no trace of the operations before the one that failed (put, update
// and delete, on tables with and without a sort key), and reports the failed
// condition with the item it met. scripts/serve_moto.py replaces moto's
// table copies with a journal of the touched items; this is its proof.
func TestCancelledTransactionWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := awstest.DynamoDB(t)
	idem := awstest.NewTable(t, db, awstest.IdempotencyTable)
	ledger := awstest.NewTable(t, db, awstest.LedgerTable)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	balance := map[string]types.AttributeValue{"account": s("a"), "entry": s("#balance")}
	for _, put := range []dynamodb.PutItemInput{
		{TableName: aws.String(ledger), Item: map[string]types.AttributeValue{"account": s("a"), "entry": s("#balance"), "n": n("5")}},
		{TableName: aws.String(ledger), Item: map[string]types.AttributeValue{"account": s("a"), "entry": s("old")}},
		{TableName: aws.String(idem), Item: map[string]types.AttributeValue{"id": s("taken"), "status": s("COMPLETED")}},
	} {
		_, err := db.PutItem(ctx, &put)
		require.NoError(t, err)
	}
	add := func(delta string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(ledger), Key: balance, UpdateExpression: aws.String("ADD n :d"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": n(delta)},
		}}
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(ledger), Item: map[string]types.AttributeValue{"account": s("a"), "entry": s("new")},
			ConditionExpression: aws.String("attribute_not_exists(entry)")}},
		add("3"),
		{Delete: &types.Delete{TableName: aws.String(ledger), Key: map[string]types.AttributeValue{"account": s("a"), "entry": s("old")}}},
		{Put: &types.Put{TableName: aws.String(idem), Item: map[string]types.AttributeValue{"id": s("fresh")}}},
		{Put: &types.Put{TableName: aws.String(idem), Item: map[string]types.AttributeValue{"id": s("taken"), "status": s("INPROGRESS")},
			ConditionExpression:                 aws.String("attribute_not_exists(id)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	require.ErrorAs(t, err, &cancelled)
	require.Len(t, cancelled.CancellationReasons, len(items))
	require.Equal(t, "ConditionalCheckFailed", aws.ToString(cancelled.CancellationReasons[4].Code))
	require.Equal(t, s("COMPLETED"), cancelled.CancellationReasons[4].Item["status"])

	get := func(table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		require.NoError(t, err)
		return out.Item
	}
	require.Nil(t, get(ledger, map[string]types.AttributeValue{"account": s("a"), "entry": s("new")}), "put rolled back")
	require.Equal(t, n("5"), get(ledger, balance)["n"], "update rolled back")
	require.NotNil(t, get(ledger, map[string]types.AttributeValue{"account": s("a"), "entry": s("old")}), "delete rolled back")
	require.Nil(t, get(idem, map[string]types.AttributeValue{"id": s("fresh")}), "put on the second table rolled back")
	require.Equal(t, s("COMPLETED"), get(idem, map[string]types.AttributeValue{"id": s("taken")})["status"])

	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{add("3")}})
	require.NoError(t, err)
	require.Equal(t, n("8"), get(ledger, balance)["n"], "a transaction that commits applies")
}
