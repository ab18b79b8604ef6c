package sqsonce_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// FIFO: a failed or blocked record stops its group: nothing later in the
// group is written, and every record is reported once with its true
// outcome; other groups go on.
func TestDynamoDBFIFOFailureStopsItsGroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, o orders)
		a2    rec
	}{
		{name: "invalid body", a2: rec{msgID: "A2", group: "A", body: `{"id":`}},
		{name: "held by another worker's live claim", a2: rec{msgID: "A2", group: "A", o: order{"a2", "x", 1}},
			setup: func(t *testing.T, o orders) {
				now := time.Now()
				_, err := o.store.Claim(context.Background(), idempotency.ClaimInput{
					Key: idempotency.StoredKey("orders", "a2"), Token: "other", Now: now,
					LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour),
				})
				require.NoError(t, err)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrders(t, nil)
			if tc.setup != nil {
				tc.setup(t, o)
			}
			h := o.handler(t, sqsonce.Config{})
			report, err := h.Process(context.Background(), batch(fifoARN,
				rec{msgID: "A1", group: "A", o: order{"a1", "x", 1}},
				rec{msgID: "B1", group: "B", o: order{"b1", "y", 1}},
				tc.a2,
				rec{msgID: "B2", group: "B", o: order{"b2", "y", 1}},
				rec{msgID: "A3", group: "A", o: order{"a3", "x", 1}},
			))
			require.NoError(t, err)
			require.Equal(t, []string{"A2", "A3"}, failures(report))
			require.Equal(t, map[string]bool{"a1": true, "b1": true, "b2": true}, o.applied(t), "A3 was not written after A2 failed")
			outcome, _ := report.Outcome("A3")
			require.Equal(t, sqsonce.OutcomeSkipped, outcome)
			require.Equal(t, "1", o.reserved(t, "x"))
			require.Equal(t, "2", o.reserved(t, "y"))
		})
	}
}

// A standard queue whose records carry group IDs (a fair queue) is not
// FIFO: a failure stops nothing, and no applied record is reported failed.
func TestDynamoDBFairQueueIsNotFIFO(t *testing.T) {
	t.Parallel()
	o := newOrders(t, nil)
	h := o.handler(t, sqsonce.Config{})
	report, err := h.Process(context.Background(), batch(standardARN,
		rec{msgID: "A1", group: "A", o: order{"a1", "x", 1}},
		rec{msgID: "A2", group: "A", body: "not json"},
		rec{msgID: "A3", group: "A", o: order{"a3", "x", 1}},
	))
	require.NoError(t, err)
	require.Equal(t, []string{"A2"}, failures(report))
	require.Equal(t, map[string]bool{"a1": true, "a3": true}, o.applied(t))
	require.Equal(t, 2, report.Counts.Executed)
	require.Equal(t, 1, report.Counts.Invalid)
}

// An expired claim of a crashed worker is taken over; a live one blocks.
func TestDynamoDBTakesOverAnExpiredClaim(t *testing.T) {
	t.Parallel()
	o := newOrders(t, nil)
	now := time.Now()
	_, err := o.store.Claim(context.Background(), idempotency.ClaimInput{
		Key: idempotency.StoredKey("orders", "a1"), Token: "crashed", Now: now.Add(-time.Minute),
		LeaseUntil: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour),
	})
	require.NoError(t, err)
	report, err := o.handler(t, sqsonce.Config{}).Process(context.Background(), batch(standardARN, rec{msgID: "m1", o: order{"a1", "x", 1}}))
	require.NoError(t, err)
	require.Empty(t, failures(report))
	require.Equal(t, 1, report.Counts.Executed)
	require.ErrorIs(t, o.store.Complete(context.Background(), idempotency.StoredKey("orders", "a1"), "crashed", nil, now.Add(time.Hour)),
		idempotency.ErrLeaseLost, "the crashed worker is fenced out")
}

// A batch of 150 orders over 3 items: every transaction holds at most 100
// actions and never two on one item; every order is applied once and the
// stock sums are exact; twins (a producer retry in the same batch) are both
// answered.
func TestDynamoDBLargeBatchWithTwins(t *testing.T) {
	t.Parallel()
	log := &txLog{}
	o := newOrders(t, log)
	log.API = o.db
	var recs []rec
	for i := range 150 {
		recs = append(recs, rec{msgID: fmt.Sprintf("m%03d", i), o: order{fmt.Sprintf("o%03d", i), fmt.Sprintf("item-%d", i%3), 1}})
	}
	recs = append(recs, rec{msgID: "twin", o: order{"o007", "item-1", 1}})
	report, err := o.handler(t, sqsonce.Config{}).Process(context.Background(), batch(standardARN, recs...))
	require.NoError(t, err)
	require.Empty(t, failures(report))
	require.Equal(t, 150, report.Counts.Executed)
	require.Equal(t, 1, report.Counts.Replayed)
	require.Len(t, o.applied(t), 150)
	for i := range 3 {
		require.Equal(t, "50", o.reserved(t, fmt.Sprintf("item-%d", i)))
	}
	require.LessOrEqual(t, len(log.txs), 4, "150 orders in a few transactions")
	for _, tx := range log.txs {
		require.LessOrEqual(t, len(tx), 100)
		seen := map[string]bool{}
		for _, it := range tx {
			var key map[string]types.AttributeValue
			var table string
			switch {
			case it.Put != nil:
				table, key = aws.ToString(it.Put.TableName), it.Put.Item
				key = map[string]types.AttributeValue{"a": key["account"], "e": key["entry"], "id": key["id"]}
			case it.Update != nil:
				table, key = aws.ToString(it.Update.TableName), it.Update.Key
			}
			id := fmt.Sprint(table, key)
			require.False(t, seen[id], "two actions on one item in a transaction: %s", id)
			seen[id] = true
		}
	}
}

// Work not committed before the safety margin is reported, never left to
// the Lambda timeout, and nothing of it is written.
func TestDynamoDBDeadlineReportsUncommittedWork(t *testing.T) {
	t.Parallel()
	o := newOrders(t, stall{})
	h := o.handler(t, sqsonce.Config{SafetyMargin: 200 * time.Millisecond, FinishTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	report, err := h.Process(ctx, batch(standardARN, rec{msgID: "m1", o: order{"a1", "x", 1}}, rec{msgID: "m2", o: order{"a2", "x", 1}}))
	require.NoError(t, err)
	require.Equal(t, []string{"m1", "m2"}, failures(report))
	require.NoError(t, ctx.Err(), "returned before the deadline")
	require.Empty(t, o.applied(t))
}

// stall is a DynamoDB API whose transactions never answer before their
// context ends.
type stall struct{ dynamoAPI }

type dynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

func (stall) TransactWriteItems(ctx context.Context, _ *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// contended answers every transaction with a cancellation for contention.
type contended struct {
	dynamoAPI
	code  string
	calls atomic.Int32
}

func (c *contended) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	for i := range reasons {
		reasons[i].Code = aws.String("None")
	}
	reasons[len(reasons)-1].Code = aws.String(c.code)
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

// Conflicts and throttling that outlast the retries are contention, not an
// outage: the records are retried later, and the breaker stays closed.
func TestDynamoDBContentionIsNotAnOutage(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			api := &contended{code: code}
			o := newOrders(t, api)
			h := o.handler(t, sqsonce.Config{BreakAfter: 1})
			ev := batch(fifoARN, rec{msgID: "A1", group: "A", o: order{"a1", "x", 1}}, rec{msgID: "B1", group: "B", o: order{"b1", "y", 1}})
			report, err := h.Process(context.Background(), ev)
			require.NoError(t, err)
			require.Equal(t, []string{"A1", "B1"}, failures(report))
			require.Equal(t, 2, report.Counts.Contended)
			require.Zero(t, report.Counts.Breaker)
			require.Greater(t, api.calls.Load(), int32(1), "retried")
		})
	}
}
