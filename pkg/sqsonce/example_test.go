package sqsonce_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Signup is a user's own event type.
type Signup struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Any effect, here a welcome mail, sent once per signup id: the duplicate is
// replayed, the body that does not decode is reported for the DLQ.
func ExampleNew() {
	store := memstore.New() // in Lambda: dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	h, err := sqsonce.New(store, sqsonce.JSON(sqsonce.BodyKey(func(s Signup) string { return s.ID })),
		func(ctx context.Context, s Signup) ([]byte, error) {
			fmt.Println("welcome mail to", s.Email) // sendMail(ctx, s.Email)
			return nil, nil
		},
		sqsonce.Config{KeyPrefix: "welcome-mails", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	resp, _ := h.Handle(context.Background(), sqsEvent(
		`{"id":"s-1","email":"ada@example.com"}`, `{"id":"s-1","email":"ada@example.com"}`, `not json`))
	fmt.Println(resp.BatchItemFailures, h.Totals().Executed, h.Totals().Replayed)
	// Output:
	// welcome mail to ada@example.com
	// [{m-3}] 1 1
}

// Order is a user's own event type: qty units of an item are reserved.
type Order struct {
	ID   string `json:"id"`
	Item string `json:"item"`
	Qty  int64  `json:"qty"`
}

// DynamoDB effects: each order's writes commit with its idempotency record,
// many orders per transaction; the stock counter adds merge per item.
func ExampleNewDynamoDB() {
	ctx := context.Background()
	cfg, _ := config.LoadDefaultConfig(ctx) // make test points it at a local moto
	db := dynamodb.NewFromConfig(cfg)
	idemTable, stockTable := exampleTables(ctx, db)
	defer deleteTables(ctx, db, idemTable, stockTable)

	store, _ := dynamostore.New(db, idemTable)
	h, err := sqsonce.NewDynamoDB(store, sqsonce.JSON(sqsonce.BodyKey(func(o Order) string { return o.ID })),
		func(ctx context.Context, o Order) (sqsonce.Effect[struct{}], error) {
			key := map[string]types.AttributeValue{"item": &types.AttributeValueMemberS{Value: o.Item}}
			return sqsonce.Effect[struct{}]{Writes: []dynamostore.Write{dynamostore.Add(stockTable, key, "reserved", o.Qty)}}, nil
		},
		sqsonce.Config{KeyPrefix: "orders", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	resp, _ := h.Handle(ctx, sqsEvent(`{"id":"o-1","item":"tea","qty":2}`, `{"id":"o-2","item":"tea","qty":3}`, `{"id":"o-1","item":"tea","qty":2}`))
	out, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stockTable), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"item": &types.AttributeValueMemberS{Value: "tea"}}})
	fmt.Println(len(resp.BatchItemFailures), out.Item["reserved"].(*types.AttributeValueMemberN).Value)
	// Output: 0 5
}

// One function, two queues, two kinds of effect: the event source mapping's
// ARN says which handler a batch is for.
func Example_lambdaStart() {
	ctx := context.Background()
	cfg, _ := config.LoadDefaultConfig(ctx)
	db := dynamodb.NewFromConfig(cfg)
	store, _ := dynamostore.New(db, "idempotency")
	mails, _ := sqsonce.New(store, sqsonce.JSON(sqsonce.BodyKey(func(s Signup) string { return s.ID })),
		func(ctx context.Context, s Signup) ([]byte, error) { return nil, nil /* sendMail(ctx, s.Email) */ },
		sqsonce.Config{KeyPrefix: "welcome-mails"})
	orders, _ := sqsonce.NewDynamoDB(store, sqsonce.JSON(sqsonce.BodyKey(func(o Order) string { return o.ID })),
		func(ctx context.Context, o Order) (sqsonce.Effect[struct{}], error) {
			return sqsonce.Effect[struct{}]{}, nil /* the order's writes */
		},
		sqsonce.Config{KeyPrefix: "orders"})
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if len(ev.Records) > 0 && ev.Records[0].EventSourceARN == "arn:aws:sqs:eu-west-1:123456789012:signups" {
			return mails.Handle(ctx, ev)
		}
		return orders.Handle(ctx, ev)
	})
}

// sqsEvent is a batch of bodies on a standard queue, message IDs m-1, m-2...
func sqsEvent(bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%d", i+1), Body: b,
			EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:queue"})
	}
	return ev
}

// exampleTables creates an idempotency table and a stock table.
func exampleTables(ctx context.Context, db *dynamodb.Client) (idem, stock string) {
	suffix := rand.Text()[:8]
	idem, stock = "example-idempotency-"+suffix, "example-stock-"+suffix
	for name, key := range map[string]string{idem: "id", stock: "item"} {
		_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
		})
		if err != nil {
			panic(err)
		}
	}
	return idem, stock
}

func deleteTables(ctx context.Context, db *dynamodb.Client, names ...string) {
	for _, name := range names {
		_, _ = db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	}
}

// A function that consumes a queue and probes its store on a schedule
// passes the Handler to lambda.StartHandler: Invoke answers an SQS batch
// with its batch item failures, and the probe event with what the probe
// found (with Config.Pause, the function's event source mappings, and those
// it resumed).
func ExampleHandler_Invoke() {
	h, err := sqsonce.New(memstore.New(), sqsonce.JSON(sqsonce.BodyKey(func(s Signup) string { return s.ID })),
		func(context.Context, Signup) ([]byte, error) { return nil, nil },
		sqsonce.Config{KeyPrefix: "payments", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	out, err := h.Invoke(context.Background(), []byte(sqsonce.ProbeEvent))
	fmt.Println(string(out), err)
	out, err = h.Invoke(context.Background(), []byte(`{"Records":[{"messageId":"m1","body":"{\"id\":\"p1\"}","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:payments"}]}`))
	fmt.Println(string(out), err)
	// Output:
	// {"mappings":[]} <nil>
	// {"batchItemFailures":[]} <nil>
}
