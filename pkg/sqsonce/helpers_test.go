package sqsonce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

const (
	standardARN = "arn:aws:sqs:us-east-1:000000000000:orders"
	fifoARN     = "arn:aws:sqs:us-east-1:000000000000:orders.fifo"
)

// order is the test domain: an order of qty units of an item. Applying it
// puts the order (only once) and adds qty to the item's reserved stock.
type order struct {
	ID   string `json:"id"`
	Item string `json:"item"`
	Qty  int64  `json:"qty"`
}

// orderReceipt is the result an order's effect stores and its duplicates get
// back.
type orderReceipt struct {
	Order string `json:"order"`
}

// rec is a record of a batch: message ID, group (FIFO), and the order.
type rec struct {
	msgID, group string
	o            order
	body         string // overrides the order's JSON
}

func batch(arn string, recs ...rec) events.SQSEvent {
	var ev events.SQSEvent
	for _, r := range recs {
		body := r.body
		if body == "" {
			b, _ := json.Marshal(r.o)
			body = string(b)
		}
		m := events.SQSMessage{MessageId: r.msgID, Body: body, EventSourceARN: arn}
		if r.group != "" {
			m.Attributes = map[string]string{"MessageGroupId": r.group}
		}
		ev.Records = append(ev.Records, m)
	}
	return ev
}

// orders is an orders table and an idempotency store on the local AWS.
type orders struct {
	db    *dynamodb.Client
	table string
	store *dynamostore.Store
}

func newOrders(t *testing.T, api dynamostore.API) orders {
	t.Helper()
	db := awstest.DynamoDB(t)
	if api == nil {
		api = db
	}
	store, err := dynamostore.New(api, awstest.NewTable(t, db, awstest.IdempotencyTable))
	require.NoError(t, err)
	return orders{db: db, table: awstest.NewTable(t, db, awstest.LedgerTable), store: store}
}

// effect is an order's writes: the order item (account = "orders", entry =
// its id), put only if absent, and qty added to the item's stock.
func (o orders) effect(_ context.Context, ord order) (sqsonce.Effect[orderReceipt], error) {
	return sqsonce.Effect[orderReceipt]{
		Writes: []dynamostore.Write{
			dynamostore.Put(&types.Put{
				TableName: aws.String(o.table),
				Item: map[string]types.AttributeValue{
					"account": str("orders"), "entry": str(ord.ID), "qty": num(ord.Qty),
				},
				ConditionExpression:      aws.String("attribute_not_exists(#e)"),
				ExpressionAttributeNames: map[string]string{"#e": "entry"},
			}, "account", "entry"),
			dynamostore.Add(o.table, map[string]types.AttributeValue{"account": str("stock"), "entry": str(ord.Item)}, "reserved", ord.Qty),
		},
		Result: orderReceipt{Order: ord.ID},
	}, nil
}

func (o orders) handler(t *testing.T, cfg sqsonce.Config, opts ...sqsonce.Option[orderReceipt]) *sqsonce.Handler[orderReceipt] {
	t.Helper()
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "orders"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	h, err := sqsonce.NewDynamoDB(o.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })), o.effect, cfg, opts...)
	require.NoError(t, err)
	return h
}

// applied lists the order ids written, and reserved the stock of an item.
func (o orders) applied(t *testing.T) map[string]bool {
	t.Helper()
	out, err := o.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(o.table), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, it := range out.Items {
		if it["account"].(*types.AttributeValueMemberS).Value == "orders" {
			ids[it["entry"].(*types.AttributeValueMemberS).Value] = true
		}
	}
	return ids
}

func (o orders) reserved(t *testing.T, item string) string {
	t.Helper()
	out, err := o.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(o.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"account": str("stock"), "entry": str(item)},
	})
	require.NoError(t, err)
	if out.Item == nil {
		return "0"
	}
	return out.Item["reserved"].(*types.AttributeValueMemberN).Value
}

func failures[R any](r sqsonce.Report[R]) []string {
	ids := []string{}
	for _, f := range r.Response.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue  { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }

// txLog wraps the DynamoDB client and records every transaction's items.
type txLog struct {
	dynamostore.API
	mu  sync.Mutex
	txs [][]types.TransactWriteItem
}

func (l *txLog) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	l.mu.Lock()
	l.txs = append(l.txs, in.TransactItems)
	l.mu.Unlock()
	return l.API.TransactWriteItems(ctx, in, opts...)
}
