package sqsonce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

const eventsQueue = "https://sqs.us-east-1.amazonaws.com/000000000000/reserved.fifo"

// publishing is the orders domain whose effect also publishes one event per
// order (a "reserved" event to a FIFO queue, grouped by item), plus extra
// events of body size big.
type publishing struct {
	orders
	outbox outbox.Table
	idem   string // the idempotency table
	none   bool   // publish nothing
	extra  int    // events beyond the first
	big    int    // bytes of each extra event's body
	// writes, when set, replaces the order's writes.
	writes func(o order) []dynamostore.Write
}

func newPublishing(t *testing.T, api dynamostore.API) *publishing {
	t.Helper()
	db := awstest.DynamoDB(t)
	if api == nil {
		api = db
	}
	idem := awstest.NewTable(t, db, awstest.IdempotencyTable)
	store, err := dynamostore.New(api, idem)
	require.NoError(t, err)
	o := orders{db: db, table: awstest.NewTable(t, db, awstest.LedgerTable), store: store}
	name := awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})
	return &publishing{orders: o, outbox: outbox.Table{Name: name}, idem: idem}
}

func (p *publishing) effect(ctx context.Context, ord order) (sqsonce.Effect[orderReceipt], error) {
	eff, _ := p.orders.effect(ctx, ord)
	if p.writes != nil {
		eff.Writes = p.writes(ord)
	}
	if p.none {
		return eff, nil
	}
	eff.Publish = []outbox.Event{{
		To:   outbox.SQS{QueueURL: eventsQueue, GroupID: ord.Item},
		Body: fmt.Sprintf(`{"order":%q,"item":%q,"qty":%d}`, ord.ID, ord.Item, ord.Qty),
	}}
	for range p.extra {
		eff.Publish = append(eff.Publish, outbox.Event{To: outbox.SNS{TopicARN: "arn:aws:sns:us-east-1:000000000000:orders"}, Body: strings.Repeat("x", p.big)})
	}
	return eff, nil
}

func (p *publishing) handler(t *testing.T) *sqsonce.Handler[orderReceipt] {
	t.Helper()
	h, err := sqsonce.NewDynamoDB(p.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })), p.effect,
		sqsonce.Config{KeyPrefix: "orders", Outbox: &p.outbox, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	return h
}

// items reads the outbox table whole.
func (p *publishing) items(t *testing.T) map[string]outbox.Item {
	t.Helper()
	items := map[string]outbox.Item{}
	pages := dynamodb.NewScanPaginator(p.db, &dynamodb.ScanInput{TableName: aws.String(p.outbox.Name), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		require.NoError(t, err)
		for _, raw := range out.Items {
			it, ok, err := p.outbox.ParseItem(raw)
			require.NoError(t, err)
			require.True(t, ok)
			items[it.ID] = it
		}
	}
	return items
}

// An effect's events are committed with it, once, under stable IDs: a
// duplicate (in the batch, or redelivered later) writes no event, and a
// group's events share their partition.
func TestDynamoDBPublishCommitsEventsOnce(t *testing.T) {
	t.Parallel()
	p := newPublishing(t, nil)
	h := p.handler(t)
	ev := batch(standardARN,
		rec{msgID: "m1", o: order{"o1", "x", 1}},
		rec{msgID: "m2", o: order{"o2", "x", 2}},
		rec{msgID: "m3", o: order{"o3", "y", 3}},
		rec{msgID: "m1-twin", o: order{"o1", "x", 1}},
	)
	report, err := h.Process(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, failures(report))
	require.Equal(t, 3, report.Counts.Executed)

	items := p.items(t)
	require.Len(t, items, 3)
	for _, id := range []string{"o1", "o2", "o3"} {
		it, ok := items[outbox.EventID("orders", id, 0)]
		require.True(t, ok, "the event of %s under its stable ID", id)
		require.Equal(t, outbox.StatusPending, it.Status)
		require.Equal(t, idempotency.StoredKey("orders", id), it.SourceKey)
		require.Contains(t, it.Event.Body, id)
	}
	x1, x2, y3 := items[outbox.EventID("orders", "o1", 0)], items[outbox.EventID("orders", "o2", 0)], items[outbox.EventID("orders", "o3", 0)]
	require.Equal(t, x1.Partition, x2.Partition, "one group, one partition")
	require.NotEqual(t, x1.Partition, y3.Partition)

	// A fresh handler (no cache): every record is a duplicate; no event is written again.
	report, err = p.handler(t).Process(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, 4, report.Counts.Replayed)
	require.Equal(t, items, p.items(t))
}

// When a key's record is gone (its TTL passed) but its event is still in
// the outbox, the redelivery finds the event under the same ID: the effect
// is taken as applied, and nothing is written again.
func TestDynamoDBPublishRedeliveryAfterTheRecordExpired(t *testing.T) {
	t.Parallel()
	p := newPublishing(t, nil)
	p.writes = func(o order) []dynamostore.Write {
		return []dynamostore.Write{dynamostore.Add(p.table, map[string]types.AttributeValue{"account": str("stock"), "entry": str(o.Item)}, "reserved", o.Qty)}
	}
	ev := batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 5}})
	_, err := p.handler(t).Process(context.Background(), ev)
	require.NoError(t, err)
	before := p.items(t)
	require.Len(t, before, 1)
	_, err = p.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
		TableName: aws.String(p.idem), Key: map[string]types.AttributeValue{"id": str(idempotency.StoredKey("orders", "o1"))},
	})
	require.NoError(t, err)

	report, err := p.handler(t).Process(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, failures(report))
	require.Equal(t, 1, report.Counts.AlreadyApplied)
	require.Equal(t, "5", p.reserved(t, "x"), "the counter was not added again")
	require.Equal(t, before, p.items(t), "the same event, under the same ID, once")
}

// A record whose transaction is cancelled by its own write writes no event,
// while its neighbours' events commit.
func TestDynamoDBPublishCancelledEffectWritesNoEvent(t *testing.T) {
	t.Parallel()
	p := newPublishing(t, nil)
	_, err := p.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(p.table), Item: map[string]types.AttributeValue{
		"account": str("orders"), "entry": str("o2"), "qty": num(9),
	}})
	require.NoError(t, err)
	report, err := p.handler(t).Process(context.Background(), batch(standardARN,
		rec{msgID: "m1", o: order{"o1", "x", 1}},
		rec{msgID: "m2", o: order{"o2", "x", 2}},
		rec{msgID: "m3", o: order{"o3", "y", 3}},
	))
	require.NoError(t, err)
	require.Equal(t, []string{"m2"}, failures(report))
	require.Equal(t, sqsonce.ClassConditionFailed, report.Class("m2"))
	items := p.items(t)
	require.Len(t, items, 2)
	require.NotContains(t, items, outbox.EventID("orders", "o2", 0))
}

// crashingDB is a worker's DynamoDB client that dies at its transaction:
// before sending it (nothing committed), or after (committed, answer lost).
type crashingDB struct {
	dynamostore.API
	after atomic.Bool
	armed atomic.Bool
}

var errCrashed = errors.New("worker killed")

func (c *crashingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if !c.armed.Load() {
		return c.API.TransactWriteItems(ctx, in, opts...)
	}
	if c.after.Load() {
		_, _ = c.API.TransactWriteItems(ctx, in, opts...)
	}
	return nil, errCrashed
}

// A worker that dies before its transaction writes no event; one that dies
// after it wrote its event once: either way the redelivery leaves exactly
// one event per order, under its stable ID.
func TestDynamoDBPublishCrashedWorker(t *testing.T) {
	t.Parallel()
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("after commit %v", after), func(t *testing.T) {
			t.Parallel()
			crash := &crashingDB{}
			p := newPublishing(t, crash)
			crash.API = p.db
			crash.after.Store(after)
			crash.armed.Store(true)
			ev := batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", o: order{"o2", "y", 1}})
			report, err := p.handler(t).Process(context.Background(), ev)
			require.NoError(t, err)
			require.Equal(t, []string{"m1", "m2"}, failures(report))
			if after {
				require.Len(t, p.items(t), 2)
			} else {
				require.Empty(t, p.items(t))
			}

			crash.armed.Store(false)
			report, err = p.handler(t).Process(context.Background(), ev)
			require.NoError(t, err)
			require.Empty(t, failures(report))
			items := p.items(t)
			require.Len(t, items, 2)
			require.Contains(t, items, outbox.EventID("orders", "o1", 0))
			require.Contains(t, items, outbox.EventID("orders", "o2", 0))
			require.Equal(t, "1", p.reserved(t, "x"))
		})
	}
}

// Outbox items count in a transaction's 100 actions and 4 MB: a wave that
// fits one transaction without its events takes two with them, and every
// transaction keeps to the limits.
func TestDynamoDBPublishCountsInTransactionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		records  int
		extra    int
		big      int
		overflow string
	}{
		{name: "100 actions", records: 40, overflow: "actions"}, // 40 x (record, put) + 3 adds = 83; with events 123
		{name: "4 MB", records: 12, extra: 1, big: 350 << 10, overflow: "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var recs []rec
			for i := range tc.records {
				recs = append(recs, rec{msgID: fmt.Sprintf("m%02d", i), o: order{fmt.Sprintf("o%02d", i), fmt.Sprintf("item-%d", i%3), 1}})
			}
			run := func(none bool) (*publishing, *txLog) {
				log := &txLog{}
				p := newPublishing(t, log)
				log.API = p.db
				p.none, p.extra, p.big = none, tc.extra, tc.big
				report, err := p.handler(t).Process(context.Background(), batch(standardARN, recs...))
				require.NoError(t, err)
				require.Empty(t, failures(report))
				require.Equal(t, tc.records, report.Counts.Executed)
				return p, log
			}
			_, without := run(true)
			require.Len(t, without.txs, 1, "without its events, the wave is one transaction")
			p, log := run(false)
			require.Equal(t, tc.records*(1+tc.extra), len(p.items(t)))
			require.Greater(t, len(log.txs), 1, "its events made the wave overflow one transaction (%s)", tc.overflow)
			for _, tx := range log.txs {
				require.LessOrEqual(t, len(tx), dynamostore.MaxActionsPerTx)
				size := 0
				for _, it := range tx {
					if it.Put != nil {
						for _, v := range it.Put.Item {
							if s, ok := v.(*types.AttributeValueMemberS); ok {
								size += len(s.Value)
							}
						}
					}
				}
				require.LessOrEqual(t, size, dynamostore.MaxTxSize)
			}
		})
	}
}

// An event that can never be published fails its record alone,
// permanently, with a typed error; its neighbours commit with their events.
func TestDynamoDBPublishInvalidEventFailsItsRecordAlone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		event outbox.Event
		class string
		is    error
	}{
		{name: "over an item", event: outbox.Event{To: outbox.SQS{QueueURL: "https://q"}, Body: strings.Repeat("x", 401<<10)}, class: sqsonce.ClassInvalidPublish, is: dynamostore.ErrInvalidWrite},
		{name: "FIFO without group", event: outbox.Event{To: outbox.SQS{QueueURL: "https://q.fifo"}, Body: "{}"}, class: sqsonce.ClassInvalidPublish, is: outbox.ErrInvalidEvent},
		{name: "no destination", event: outbox.Event{Body: "{}"}, class: sqsonce.ClassInvalidPublish, is: outbox.ErrInvalidEvent},
		{name: "detail not an object", event: outbox.Event{To: outbox.EventBridge{Source: "s", DetailType: "d"}, Body: "[]"}, class: sqsonce.ClassInvalidPublish, is: outbox.ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPublishing(t, nil)
			fn := func(ctx context.Context, ord order) (sqsonce.Effect[orderReceipt], error) {
				eff, err := p.effect(ctx, ord)
				if ord.ID == "bad" {
					eff.Publish = append(eff.Publish, tc.event)
				}
				return eff, err
			}
			h, err := sqsonce.NewDynamoDB(p.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })), fn,
				sqsonce.Config{KeyPrefix: "orders", Outbox: &p.outbox, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			require.NoError(t, err)
			report, err := h.Process(context.Background(), batch(standardARN,
				rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", o: order{"bad", "x", 1}}))
			require.NoError(t, err)
			require.Equal(t, []string{"m2"}, failures(report))
			r, _ := report.Record("m2")
			require.Equal(t, sqsonce.OutcomePermanent, r.Outcome)
			require.Equal(t, tc.class, r.Class)
			var ee *outbox.EventError
			require.ErrorAs(t, r.Err, &ee)
			require.Equal(t, 1, ee.Index)
			require.ErrorIs(t, r.Err, tc.is)
			require.Equal(t, []string{outbox.EventID("orders", "o1", 0)}, slices.Collect(maps.Keys(p.items(t))))
			require.Equal(t, map[string]bool{"o1": true}, p.applied(t))
		})
	}
}

// An effect whose writes and events exceed a transaction's actions fails
// alone, permanently.
func TestDynamoDBPublishTooManyActionsFailsItsRecordAlone(t *testing.T) {
	t.Parallel()
	p := newPublishing(t, nil)
	p.extra, p.big = 2, 10
	p.writes = func(o order) []dynamostore.Write {
		if o.ID != "bad" {
			return nil
		}
		var ws []dynamostore.Write
		for i := range 96 { // 1 record + 96 puts + 3 events = 100 actions; + the counter = 101
			ws = append(ws, dynamostore.Put(&types.Put{TableName: aws.String(p.table), Item: map[string]types.AttributeValue{
				"account": str("bad"), "entry": str(fmt.Sprint(i)),
			}}, "account", "entry"))
		}
		return append(ws, dynamostore.Add(p.table, map[string]types.AttributeValue{"account": str("stock"), "entry": str("x")}, "reserved", 1))
	}
	report, err := p.handler(t).Process(context.Background(), batch(standardARN,
		rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", o: order{"bad", "x", 1}}))
	require.NoError(t, err)
	require.Equal(t, []string{"m2"}, failures(report))
	require.Equal(t, sqsonce.ClassInvalidWrite, report.Class("m2"))
	require.Len(t, p.items(t), 3)
}

// Publishing without Config.Outbox fails the record, permanently.
func TestDynamoDBPublishWithoutOutbox(t *testing.T) {
	t.Parallel()
	p := newPublishing(t, nil)
	h, err := sqsonce.NewDynamoDB(p.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })), p.effect,
		sqsonce.Config{KeyPrefix: "orders", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	report, err := h.Process(context.Background(), batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}}))
	require.NoError(t, err)
	r, _ := report.Record("m1")
	require.ErrorIs(t, r.Err, sqsonce.ErrNoOutbox)
	require.Equal(t, sqsonce.ClassInvalidPublish, r.Class)
	require.Empty(t, p.applied(t))

	_, err = sqsonce.NewDynamoDB(p.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })), p.effect,
		sqsonce.Config{KeyPrefix: "orders", Outbox: &outbox.Table{}})
	var ce *sqsonce.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "Config.Outbox.Name", ce.Field)
}

// With Config.Tracing, an event published through the outbox carries its
// record's trace context (traceparent among its attributes, which the relay
// sends as message attributes), so the next consumer continues the event's
// trace; an event that sets its own traceparent keeps it.
func TestTracingContinuesThroughTheOutbox(t *testing.T) {
	t.Parallel()
	p := newPublishing(t, nil)
	spans := newRecorded()
	own := "00-11111111111111111111111111111111-2222222222222222-01"
	h, err := sqsonce.NewDynamoDB(p.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })),
		func(ctx context.Context, o order) (sqsonce.Effect[orderReceipt], error) {
			eff, err := p.effect(ctx, o)
			if o.ID == "o2" {
				eff.Publish[0].Attributes = map[string]string{"traceparent": own}
			}
			return eff, err
		},
		sqsonce.Config{KeyPrefix: "orders", Outbox: &p.outbox, Tracing: &sqsonce.Tracing{TracerProvider: spans.tp},
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	producer := producerSpan(t)
	ev := batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", o: order{"o2", "y", 1}})
	ev.Records[0] = withTraceparent(ev.Records[0], producer)
	_, err = h.Process(context.Background(), ev)
	require.NoError(t, err)

	recs, _ := spans.byMessage()
	byOrder := map[string]outbox.Item{}
	for _, it := range p.items(t) {
		byOrder[it.Event.To.(outbox.SQS).GroupID] = it
	}
	got := byOrder["x"].Event.Attributes["traceparent"]
	require.Equal(t, "00-"+producer.TraceID().String()+"-"+recs["m1"].SpanContext().SpanID().String()+"-01", got,
		"the event continues its record's span, in its producer's trace")
	require.Equal(t, own, byOrder["y"].Event.Attributes["traceparent"], "an event's own traceparent is kept")
}
