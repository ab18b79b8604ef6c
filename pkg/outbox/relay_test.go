package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// change is the test's source event: account acc changed by amount.
type change struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

// chain is a consumer that publishes one event per change (to the FIFO
// queue, grouped by account, or to to(c) when set) into an outbox table,
// and a relay of that table.
type chain struct {
	db      *dynamodb.Client
	sqs     *sqs.Client
	table   outbox.Table
	fifo    awstest.Queue
	handler *sqsonce.Handler[struct{}]
	to      func(c change) outbox.Destination
}

func newChain(t *testing.T) *chain {
	t.Helper()
	c := &chain{db: awstest.DynamoDB(t), sqs: awstest.SQS(t)}
	c.table = outbox.Table{Name: awstest.NewTable(t, c.db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})}
	c.fifo = awstest.NewQueue(t, c.sqs, awstest.QueueSpec{FIFO: true})
	store, err := dynamostore.New(c.db, awstest.NewTable(t, c.db, awstest.IdempotencyTable))
	require.NoError(t, err)
	c.handler, err = sqsonce.NewDynamoDB(store, sqsonce.JSON(sqsonce.BodyKey(func(c change) string { return c.ID })),
		func(_ context.Context, ch change) (sqsonce.Effect[struct{}], error) {
			var to outbox.Destination = outbox.SQS{QueueURL: c.fifo.URL, GroupID: ch.Account}
			if c.to != nil {
				to = c.to(ch)
			}
			return sqsonce.Effect[struct{}]{Publish: []outbox.Event{{To: to, Body: fmt.Sprintf(`{"change":%q,"amount":%d}`, ch.ID, ch.Amount)}}}, nil
		}, sqsonce.Config{KeyPrefix: "changes", Outbox: &c.table, Logger: quiet, Clock: ticking()})
	require.NoError(t, err)
	return c
}

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// ticking is a clock that advances a millisecond at each reading, so the
// items a batch commits have distinct creation times, in commit order.
func ticking() func() time.Time {
	base := time.Now()
	var ticks atomic.Int64
	return func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
}

// commit runs the consumer on changes, one batch, in their order.
func (c *chain) commit(t *testing.T, changes ...change) {
	t.Helper()
	var ev events.SQSEvent
	for i, ch := range changes {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("m%d-%s", i, ch.ID), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:changes",
			Body: fmt.Sprintf(`{"id":%q,"account":%q,"amount":%d}`, ch.ID, ch.Account, ch.Amount),
		})
	}
	report, err := c.handler.Process(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, report.Response.BatchItemFailures)
}

// stream is the outbox's items as a stream batch of INSERTs, in commit
// order (their creation, then their position).
func (c *chain) stream(t *testing.T) events.DynamoDBEvent {
	t.Helper()
	out, err := c.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(c.table.Name), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	type row struct {
		it  outbox.Item
		raw map[string]types.AttributeValue
	}
	var rows []row
	for _, raw := range out.Items {
		it, ok, err := c.table.ParseItem(raw)
		require.NoError(t, err)
		require.True(t, ok)
		rows = append(rows, row{it, raw})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if d := a.it.Created.Compare(b.it.Created); d != 0 {
			return d
		}
		return a.it.Position - b.it.Position
	})
	var ev events.DynamoDBEvent
	for i, r := range rows {
		ev.Records = append(ev.Records, events.DynamoDBEventRecord{EventName: "INSERT", EventSource: "aws:dynamodb",
			Change: events.DynamoDBStreamRecord{SequenceNumber: fmt.Sprintf("%021d", i+1), NewImage: toStream(r.raw), StreamViewType: "NEW_IMAGE"}})
	}
	return ev
}

func (c *chain) items(t *testing.T) map[string]outbox.Item {
	t.Helper()
	out, err := c.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(c.table.Name), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	items := map[string]outbox.Item{}
	for _, raw := range out.Items {
		it, _, err := c.table.ParseItem(raw)
		require.NoError(t, err)
		items[it.ID] = it
	}
	return items
}

func (c *chain) relay(t *testing.T, sqsAPI outbox.SQSAPI) *outbox.Relay {
	t.Helper()
	return c.relayOn(t, c.db, sqsAPI)
}

func (c *chain) relayOn(t *testing.T, db outbox.TableAPI, sqsAPI outbox.SQSAPI) *outbox.Relay {
	t.Helper()
	cfg := awstest.Config(t)
	if sqsAPI == nil {
		sqsAPI = c.sqs
	}
	r, err := outbox.NewRelay(outbox.RelayConfig{Table: c.table, Logger: quiet},
		outbox.Clients{DynamoDB: db, SQS: sqsAPI, SNS: sns.NewFromConfig(cfg), EventBridge: eventbridge.NewFromConfig(cfg)})
	require.NoError(t, err)
	return r
}

// received drains a queue: each message's body and event ID attribute.
func received(t *testing.T, client *sqs.Client, url string) (bodies, ids []string) {
	t.Helper()
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 60,
		})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			return bodies, ids
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			ids = append(ids, aws.ToString(m.MessageAttributes[outbox.AttrEventID].StringValue))
			_, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
}

// The relay sends every pending item once with its stable ID, in commit
// order per group, and marks it sent with a TTL; a batch delivered again
// (a Lambda retry) sends the same events, which the FIFO queue drops by
// their deduplication IDs, and a sent item's MODIFY record is ignored.
func TestRelaySendsInGroupOrderAndMarksSent(t *testing.T) {
	t.Parallel()
	c := newChain(t)
	c.commit(t, change{"c1", "a", 1}, change{"c2", "b", 2}, change{"c3", "a", 3})
	c.commit(t, change{"c4", "a", 4}, change{"c5", "b", 5})
	ev := c.stream(t)
	require.Len(t, ev.Records, 5)

	db, sends := &countingDB{TableAPI: c.db}, &flakySQS{SQSAPI: c.sqs}
	report := c.relayOn(t, db, sends).Process(context.Background(), ev)
	require.Empty(t, report.Response.BatchItemFailures)
	require.Equal(t, 5, report.Sent)
	require.Equal(t, int32(5), db.calls.Load(), "one UpdateItem per event (mark sent)")
	require.Equal(t, int32(5), sends.calls.Load(), "one SendMessage per event")
	// Lambda delivers the batch again: sent again, under the same IDs,
	// which the FIFO queue drops by their deduplication IDs.
	report = c.relay(t, nil).Process(context.Background(), ev)
	require.Equal(t, 5, report.Sent)
	bodies, ids := received(t, c.sqs, c.fifo.URL)
	require.Len(t, bodies, 5)
	var a, b []string
	for i, body := range bodies {
		var id string
		_, err := fmt.Sscanf(body[len(`{"change":"`):], "%2s", &id)
		require.NoError(t, err)
		require.Equal(t, outbox.EventID("changes", id, 0), ids[i], "the event carries its stable ID")
		if slices.Contains([]string{"c1", "c3", "c4"}, id) {
			a = append(a, id)
		} else {
			b = append(b, id)
		}
	}
	require.Equal(t, []string{"c1", "c3", "c4"}, a, "group a in commit order")
	require.Equal(t, []string{"c2", "c5"}, b, "group b in commit order")
	for _, it := range c.items(t) {
		require.Equal(t, outbox.StatusSent, it.Status)
		require.False(t, it.Sent.IsZero())
	}

	// The MODIFY records of marking sent are ignored.
	modify := c.stream(t)
	for i := range modify.Records {
		modify.Records[i].EventName = "MODIFY"
	}
	report = c.relay(t, nil).Process(context.Background(), modify)
	require.Equal(t, 5, report.Ignored)
	require.Zero(t, report.Sent)
}

// countingDB counts the relay's DynamoDB requests.
type countingDB struct {
	outbox.TableAPI
	calls atomic.Int32
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.calls.Add(1)
	return c.TableAPI.UpdateItem(ctx, in, opts...)
}

func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.calls.Add(1)
	return c.TableAPI.DeleteItem(ctx, in, opts...)
}

// flakySQS fails the sends of one event ID, as a throttled or unreachable
// SQS would.
type flakySQS struct {
	outbox.SQSAPI
	failID string
	calls  atomic.Int32
}

func (f *flakySQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.calls.Add(1)
	if aws.ToString(in.MessageAttributes[outbox.AttrEventID].StringValue) == f.failID {
		return nil, errors.New("connection reset")
	}
	return f.SQSAPI.SendMessage(ctx, in, opts...)
}

// A send that fails stops its group: it and the rest of its group are
// reported (by sequence number) and stay pending, never sent out of order;
// other groups go on. The retry sends them in order.
func TestRelayFailureStopsItsGroup(t *testing.T) {
	t.Parallel()
	c := newChain(t)
	c.commit(t, change{"c1", "a", 1}, change{"c2", "b", 2}, change{"c3", "a", 3}, change{"c4", "a", 4}, change{"c5", "b", 5})
	ev := c.stream(t)
	seqOf := map[string]string{}
	for _, r := range ev.Records {
		seqOf[r.Change.NewImage["event_id"].String()] = r.Change.SequenceNumber
	}
	flaky := &flakySQS{SQSAPI: c.sqs, failID: outbox.EventID("changes", "c3", 0)}
	report := c.relay(t, flaky).Process(context.Background(), ev)
	require.Equal(t, []events.DynamoDBBatchItemFailure{
		{ItemIdentifier: seqOf[outbox.EventID("changes", "c3", 0)]}, {ItemIdentifier: seqOf[outbox.EventID("changes", "c4", 0)]},
	}, report.Response.BatchItemFailures)
	require.Equal(t, 3, report.Sent)
	require.Equal(t, int32(4), flaky.calls.Load(), "c4 was not tried after c3 failed")
	items := c.items(t)
	require.Equal(t, outbox.StatusPending, items[outbox.EventID("changes", "c3", 0)].Status)
	require.Equal(t, outbox.StatusPending, items[outbox.EventID("changes", "c4", 0)].Status)

	// Lambda retries from the lowest reported sequence number.
	var rest events.DynamoDBEvent
	for _, r := range ev.Records {
		if r.Change.SequenceNumber >= seqOf[outbox.EventID("changes", "c3", 0)] {
			rest.Records = append(rest.Records, r)
		}
	}
	report = c.relay(t, nil).Process(context.Background(), rest)
	require.Empty(t, report.Response.BatchItemFailures)
	bodies, _ := received(t, c.sqs, c.fifo.URL)
	var a []string
	for _, body := range bodies {
		if id := body[len(`{"change":"`) : len(`{"change":"`)+2]; id == "c1" || id == "c3" || id == "c4" {
			a = append(a, id)
		}
	}
	require.Equal(t, []string{"c1", "c3", "c4"}, a)
}

// An item its destination refuses for good (a queue that does not exist)
// is marked failed with the reason, does not stop its group, and is sent
// once resent after the operator fixed the cause.
func TestRelayMarksRefusedItemsFailed(t *testing.T) {
	t.Parallel()
	c := newChain(t)
	missing := c.fifo.URL[:len(c.fifo.URL)-len(".fifo")] + "-gone.fifo"
	c.to = func(ch change) outbox.Destination {
		if ch.ID == "c1" {
			return outbox.SQS{QueueURL: missing, GroupID: ch.Account}
		}
		return outbox.SQS{QueueURL: c.fifo.URL, GroupID: ch.Account}
	}
	c.commit(t, change{"c1", "a", 1}, change{"c2", "a", 2})
	report := c.relay(t, nil).Process(context.Background(), c.stream(t))
	require.Empty(t, report.Response.BatchItemFailures)
	require.Equal(t, 1, report.Refused)
	require.Equal(t, 1, report.Sent)
	failed := c.items(t)[outbox.EventID("changes", "c1", 0)]
	require.Equal(t, outbox.StatusFailed, failed.Status)
	require.Contains(t, failed.Error, "NonExistentQueue")

	require.NoError(t, outbox.Resend(context.Background(), c.db, c.table, failed))
	resent := c.items(t)[failed.ID]
	require.Equal(t, outbox.StatusPending, resent.Status)
	require.Empty(t, resent.Error)
}

// SNS and EventBridge destinations carry the event ID too.
func TestRelaySendsToSNSAndEventBridge(t *testing.T) {
	t.Parallel()
	c := newChain(t)
	cfg := awstest.Config(t)
	snsc, ebc := sns.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	ctx := context.Background()
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(awstest.UniqueName("sqsonce-test"))})
	require.NoError(t, err)
	q := awstest.NewQueue(t, c.sqs, awstest.QueueSpec{})
	_, err = snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(q.ARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)
	bus := awstest.UniqueName("sqsonce-test")
	_, err = ebc.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
	require.NoError(t, err)
	c.to = func(ch change) outbox.Destination {
		if ch.ID == "c1" {
			return outbox.SNS{TopicARN: aws.ToString(topic.TopicArn)}
		}
		return outbox.EventBridge{EventBusName: bus, Source: "test", DetailType: "Changed"}
	}
	c.commit(t, change{"c1", "a", 1}, change{"c2", "a", 2})
	report := c.relay(t, nil).Process(ctx, c.stream(t))
	require.Empty(t, report.Response.BatchItemFailures)
	require.Equal(t, 2, report.Sent)
	_, ids := received(t, c.sqs, q.URL)
	require.Equal(t, []string{outbox.EventID("changes", "c1", 0)}, ids)
}

// toStream converts an item to a stream record's image.
func toStream(item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = toStreamValue(v)
	}
	return out
}

func toStreamValue(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = toStreamValue(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(toStream(v.Value))
	}
	return events.NewNullAttribute()
}
