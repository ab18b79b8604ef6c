package sqsonce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// containment is a FIFO batch of three groups on the orders domain: group A
// holds the bad message "bad" alone, group B two good ones, group C one.
// With BreakAfter 1, a bad message taken for a store failure would open the
// breaker after the first wave and stop B2.
func containment(t *testing.T, o orders, msg sqsonce.Message[order], fn sqsonce.DynamoDBFunc[order, orderReceipt]) sqsonce.Report[orderReceipt] {
	t.Helper()
	h, err := sqsonce.NewDynamoDB(o.store, msg, fn, sqsonce.Config{
		KeyPrefix: "orders", BreakAfter: 1, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	var report sqsonce.Report[orderReceipt]
	require.NotPanics(t, func() {
		report, err = h.Process(context.Background(), batch(fifoARN,
			rec{msgID: "A1", group: "A", o: order{"bad", "x", 1}},
			rec{msgID: "B1", group: "B", o: order{"b1", "x", 1}},
			rec{msgID: "C1", group: "C", o: order{"c1", "y", 1}},
			rec{msgID: "B2", group: "B", o: order{"b2", "x", 1}},
		))
	})
	require.NoError(t, err)
	require.Equal(t, []string{"A1"}, failures(report), "only the bad message fails")
	require.Equal(t, map[string]bool{"b1": true, "b2": true, "c1": true}, o.applied(t))
	require.Equal(t, "2", o.reserved(t, "x"))
	require.Equal(t, "1", o.reserved(t, "y"))
	require.Zero(t, report.Counts.StoreFailed, "not a store failure")
	require.Zero(t, report.Counts.Breaker)
	return report
}

// orderJSON is the orders' Message, with an optional hook on each body.
func orderJSON(hook func(order) error) sqsonce.Message[order] {
	m := sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID }))
	decode := m.Decode
	m.Decode = func(body []byte) (order, error) {
		o, err := decode(body)
		if err == nil && hook != nil {
			err = hook(o)
		}
		return o, err
	}
	return m
}

// Writes DynamoDB would refuse (or refuses) fail their own message,
// permanently, with class ClassInvalidWrite: never a store failure, never
// counted by the breaker; the rest of the batch commits.
func TestDynamoDBInvalidWriteFailsOnlyItsMessage(t *testing.T) {
	t.Parallel()
	o := newOrders(t, nil)
	key := func(entry string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"account": str("orders"), "entry": str(entry)}
	}
	var tooMany []dynamostore.Write
	for i := range 100 {
		tooMany = append(tooMany, dynamostore.Add(o.table, key(fmt.Sprint("n", i)), "n", 1))
	}
	for _, tc := range []struct {
		name   string
		writes []dynamostore.Write
	}{
		{"an empty write", []dynamostore.Write{{}}},
		{"a put without its key", []dynamostore.Write{dynamostore.Put(&types.Put{TableName: aws.String(o.table), Item: key("bad")})}},
		{"two writes to one item", []dynamostore.Write{
			dynamostore.Put(&types.Put{TableName: aws.String(o.table), Item: key("bad")}, "account", "entry"),
			dynamostore.Delete(&types.Delete{TableName: aws.String(o.table), Key: key("bad")}),
		}},
		{"too many writes", tooMany},
		{"an item over 400 KB", []dynamostore.Write{dynamostore.Put(&types.Put{TableName: aws.String(o.table), Item: map[string]types.AttributeValue{
			"account": str("orders"), "entry": str("bad"), "note": str(strings.Repeat("x", 450<<10)),
		}}, "account", "entry")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrders(t, nil)
			report := containment(t, o, orderJSON(nil), func(ctx context.Context, ord order) (sqsonce.Effect[orderReceipt], error) {
				if ord.ID == "bad" {
					return sqsonce.Effect[orderReceipt]{Writes: tc.writes}, nil
				}
				return o.effect(ctx, ord)
			})
			outcome, _ := report.Outcome("A1")
			require.Equal(t, sqsonce.OutcomePermanent, outcome)
			require.Equal(t, sqsonce.ClassInvalidWrite, report.Class("A1"))
			require.Equal(t, 1, report.Counts.InvalidWrite)
		})
	}
}

// A panic in a function of the Message (Decode, Key, Payload) or of the
// effect (the DynamoDBFunc, Effect.ConditionFailed) fails only its own
// record, as a panic; Process returns.
func TestDynamoDBPanicFailsOnlyItsRecord(t *testing.T) {
	t.Parallel()
	boom := func(o order) {
		if o.ID == "bad" {
			panic("boom")
		}
	}
	for _, tc := range []struct {
		name string
		msg  func() sqsonce.Message[order]
		fn   func(o orders) sqsonce.DynamoDBFunc[order, orderReceipt]
	}{
		{name: "decode", msg: func() sqsonce.Message[order] {
			return orderJSON(func(o order) error { boom(o); return nil })
		}},
		{name: "key", msg: func() sqsonce.Message[order] {
			return sqsonce.JSON(sqsonce.BodyKey(func(o order) string { boom(o); return o.ID }))
		}},
		{name: "payload", msg: func() sqsonce.Message[order] {
			m := orderJSON(nil)
			m.Payload = func(msg events.SQSMessage, o order) []byte { boom(o); return []byte(msg.Body) }
			return m
		}},
		{name: "effect", fn: func(o orders) sqsonce.DynamoDBFunc[order, orderReceipt] {
			return func(ctx context.Context, ord order) (sqsonce.Effect[orderReceipt], error) {
				boom(ord)
				return o.effect(ctx, ord)
			}
		}},
		{name: "condition failed", fn: func(o orders) sqsonce.DynamoDBFunc[order, orderReceipt] {
			return func(ctx context.Context, ord order) (sqsonce.Effect[orderReceipt], error) {
				if ord.ID != "bad" {
					return o.effect(ctx, ord)
				}
				return sqsonce.Effect[orderReceipt]{
					Writes: []dynamostore.Write{dynamostore.Check(&types.ConditionCheck{
						TableName: aws.String(o.table), Key: map[string]types.AttributeValue{"account": str("orders"), "entry": str("absent")},
						ConditionExpression: aws.String("attribute_exists(#e)"), ExpressionAttributeNames: map[string]string{"#e": "entry"},
					})},
					ConditionFailed: func(int, map[string]types.AttributeValue) error { panic("boom") },
				}, nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrders(t, nil)
			msg, fn := orderJSON(nil), o.effect
			if tc.msg != nil {
				msg = tc.msg()
			}
			if tc.fn != nil {
				fn = tc.fn(o)
			}
			report := containment(t, o, msg, fn)
			outcome, _ := report.Outcome("A1")
			require.Equal(t, sqsonce.OutcomePanicked, outcome)
			require.Equal(t, sqsonce.ClassPanic, report.Class("A1"))
		})
	}
}

// A decoder's error is permanent (the DLQ) unless the decoder marks it
// Retryable: then the message is retried (a reported failure, not the DLQ)
// with class ClassDecodeFailed, and it is no store failure.
func TestDynamoDBRetryableDecodeError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		err       error
		outcome   sqsonce.Outcome
		class     string
		retryable bool
	}{
		{"permanent by default", errors.New("bad signature"), sqsonce.OutcomePermanent, sqsonce.ClassInvalid, false},
		{"retryable", sqsonce.Retryable(errors.New("s3: GetObject: connection reset")), sqsonce.OutcomeFailed, sqsonce.ClassDecodeFailed, true},
		{"retryable, wrapped", fmt.Errorf("claim check: %w", sqsonce.Retryable(errors.New("kms: throttled"))), sqsonce.OutcomeFailed, sqsonce.ClassDecodeFailed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrders(t, nil)
			report := containment(t, o, orderJSON(func(ord order) error {
				if ord.ID == "bad" {
					return tc.err
				}
				return nil
			}), o.effect)
			outcome, _ := report.Outcome("A1")
			require.Equal(t, tc.outcome, outcome)
			require.Equal(t, tc.class, report.Class("A1"))
			if tc.retryable {
				require.Equal(t, 1, report.Counts.DecodeFailed)
				require.Zero(t, report.Counts.Invalid)
			} else {
				require.Equal(t, 1, report.Counts.Invalid)
			}
		})
	}
}
