package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

type change struct {
	ID      string `json:"id"`
	Account string `json:"account"`
}

// The whole path on a real stream: a consumer commits its events to the
// outbox, the stream mapping hands the outbox's stream to the relay, and
// every event reaches its FIFO queue once, in commit order per group, each
// item marked sent; the consumer's duplicates add nothing.
func TestRelayOnTheOutboxStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, queues := awstest.DynamoDB(t), awstest.SQS(t)
	table := outbox.Table{Name: awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})}
	upd, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table.Name),
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}})
	require.NoError(t, err)
	q := awstest.NewQueue(t, queues, awstest.QueueSpec{FIFO: true})
	store, err := dynamostore.New(db, awstest.NewTable(t, db, awstest.IdempotencyTable))
	require.NoError(t, err)
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	consumer, err := sqsonce.NewDynamoDB(store, sqsonce.JSON(sqsonce.BodyKey(func(c change) string { return c.ID })),
		func(_ context.Context, c change) (sqsonce.Effect[struct{}], error) {
			return sqsonce.Effect[struct{}]{Publish: []outbox.Event{{To: outbox.SQS{QueueURL: q.URL, GroupID: c.Account}, Body: c.ID}}}, nil
		}, sqsonce.Config{KeyPrefix: "changes", Outbox: &table, Logger: quiet})
	require.NoError(t, err)

	relay, err := outbox.NewRelay(outbox.RelayConfig{Table: table, Logger: quiet}, outbox.Clients{DynamoDB: db, SQS: queues})
	require.NoError(t, err)
	invoker := esm.Handler(relay.Handle)
	m, err := esm.NewStream(esm.StreamConfig{StreamARN: aws.ToString(upd.TableDescription.LatestStreamArn),
		Client: dynamodbstreams.NewFromConfig(awstest.Config(t)), Invoker: invoker, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- m.Run(runCtx) }()
	const n, accounts = 40, 4
	for round := range 2 { // the second round is all duplicates
		for b := 0; b < n; b += 10 {
			var ev events.SQSEvent
			for i := b; i < b+10; i++ {
				ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("r%d-m%d", round, i), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:changes",
					Body: fmt.Sprintf(`{"id":"c%03d","account":"a%d"}`, i, i%accounts)})
			}
			report, err := consumer.Process(ctx, ev)
			require.NoError(t, err)
			require.Empty(t, report.Response.BatchItemFailures)
		}
	}

	// n inserts, then n modifications (marked sent), all handed over.
	require.Eventually(t, func() bool { return m.Stats().Records == 2*n }, time.Minute, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	got := map[string][]string{}
	total := 0
	for {
		out, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameMessageGroupId}})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			break
		}
		for _, msg := range out.Messages {
			got[msg.Attributes["MessageGroupId"]] = append(got[msg.Attributes["MessageGroupId"]], aws.ToString(msg.Body))
			total++
			_, err := queues.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: msg.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	require.Equal(t, n, total, "every event once")
	for a := range accounts {
		var want []string
		for i := a; i < n; i += accounts {
			want = append(want, fmt.Sprintf("c%03d", i))
		}
		require.Equal(t, want, got[fmt.Sprintf("a%d", a)], "group a%d in commit order", a)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table.Name)})
	require.NoError(t, err)
	require.Len(t, out.Items, n)
	for _, raw := range out.Items {
		it, _, err := table.ParseItem(raw)
		require.NoError(t, err)
		require.Equal(t, outbox.StatusSent, it.Status, it.ID)
	}
	// Its cost and commit-to-send time: BenchmarkRelay (internal/bench).
}
