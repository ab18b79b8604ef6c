package bench_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// countedSQS counts the relay's sends.
type countedSQS struct {
	outbox.SQSAPI
	sends atomic.Int64
}

func (c *countedSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, o ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	c.sends.Add(1)
	return c.SQSAPI.SendMessage(ctx, in, o...)
}

type relayed struct {
	ID      string `json:"id"`
	Account string `json:"account"`
}

// BenchmarkRelay is what publishing one event through the outbox costs, on
// moto: the write units its item adds to the effect's transaction (the same
// consumer committing the same events with and without publishing), the
// relay's requests and write units per event (metered clients), and the
// time from the commit to the send (the item's creation time to the SQS
// SentTimestamp, the local stream mapping polling every 20 ms). Events of
// 4 groups to a FIFO queue, batches of 10. Run with -benchtime=1x.
func BenchmarkRelay(b *testing.B) {
	const n, accounts = 100, 4
	ctx := context.Background()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db, queues := awstest.DynamoDB(b), awstest.SQS(b)
	for b.Loop() {
		table := outbox.Table{Name: awstest.NewTable(b, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})}
		upd, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table.Name),
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}})
		if err != nil {
			b.Fatal(err)
		}
		q := awstest.NewQueue(b, queues, awstest.QueueSpec{FIFO: true})
		ledger := awstest.NewTable(b, db, awstest.LedgerTable)
		// commitWRU is the write units of committing the n events, with or
		// without publishing each.
		commitWRU := func(publish bool) int {
			metered := bench.NewMetered(db)
			store, err := dynamostore.New(metered, awstest.NewTable(b, db, awstest.IdempotencyTable))
			if err != nil {
				b.Fatal(err)
			}
			h, err := sqsonce.NewDynamoDB(store, sqsonce.JSON(sqsonce.BodyKey(func(e relayed) string { return e.ID })),
				func(_ context.Context, e relayed) (sqsonce.Effect[struct{}], error) {
					eff := sqsonce.Effect[struct{}]{Writes: []dynamostore.Write{dynamostore.Add(ledger, map[string]types.AttributeValue{
						"account": &types.AttributeValueMemberS{Value: e.Account}, "entry": &types.AttributeValueMemberS{Value: "balance"}}, "balance", 1)}}
					if publish {
						eff.Publish = []outbox.Event{{To: outbox.SQS{QueueURL: q.URL, GroupID: e.Account}, Body: e.ID}}
					}
					return eff, nil
				}, sqsonce.Config{KeyPrefix: "relayed", Outbox: &table, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			for start := 0; start < n; start += 10 {
				var ev events.SQSEvent
				for i := start; i < start+10; i++ {
					ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:relayed",
						Body: fmt.Sprintf(`{"id":"e%03d","account":"a%d"}`, i, i%accounts)})
				}
				report, err := h.Process(ctx, ev)
				if err != nil || len(report.Response.BatchItemFailures) > 0 {
					b.Fatalf("commit: %v %v", err, report.Response.BatchItemFailures)
				}
			}
			_, wru := metered.Counts()
			return wru
		}
		without := commitWRU(false)

		with := commitWRU(true)
		marks := bench.NewMetered(db)
		sends := &countedSQS{SQSAPI: queues}
		relay, err := outbox.NewRelay(outbox.RelayConfig{Table: table, Logger: quiet}, outbox.Clients{DynamoDB: marks, SQS: sends})
		if err != nil {
			b.Fatal(err)
		}
		m, err := esm.NewStream(esm.StreamConfig{StreamARN: aws.ToString(upd.TableDescription.LatestStreamArn),
			Client: dynamodbstreams.NewFromConfig(awstest.Config(b)), Invoker: esm.Handler(relay.Handle), PollInterval: 20 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- m.Run(runCtx) }()
		for deadline := time.Now().Add(2 * time.Minute); m.Stats().Records < 2*n; { // n inserts, then n marked sent
			if time.Now().After(deadline) {
				b.Fatalf("the relay handed %d of %d stream records over in 2 minutes", m.Stats().Records, 2*n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}

		sentAt := map[string]time.Time{}
		for {
			out, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp}})
			if err != nil {
				b.Fatal(err)
			}
			if len(out.Messages) == 0 {
				break
			}
			for _, msg := range out.Messages {
				ms, _ := strconv.ParseInt(msg.Attributes["SentTimestamp"], 10, 64)
				sentAt[aws.ToString(msg.Body)] = time.UnixMilli(ms)
				if _, err := queues.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
					b.Fatal(err)
				}
			}
		}
		items, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table.Name)})
		if err != nil {
			b.Fatal(err)
		}
		if len(sentAt) != n || len(items.Items) != n {
			b.Fatalf("%d events sent and %d outbox items for %d events", len(sentAt), len(items.Items), n)
		}
		var latencies []time.Duration
		for _, raw := range items.Items {
			it, _, err := table.ParseItem(raw)
			if err != nil {
				b.Fatal(err)
			}
			latencies = append(latencies, sentAt[it.Event.Body].Sub(it.Created))
		}
		slices.Sort(latencies)
		reqs, wru := marks.Counts()
		total := int(sends.sends.Load())
		for _, c := range reqs {
			total += c
		}
		b.ReportMetric(float64(with-without)/n, "outbox-wru/event")
		b.ReportMetric(float64(total)/n, "relay-reqs/event")
		b.ReportMetric(float64(wru)/n, "relay-wru/event")
		b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)-1].Milliseconds()), "max-ms")
		b.ReportMetric(float64(m.Stats().Invocations), "invocations")
	}
}
