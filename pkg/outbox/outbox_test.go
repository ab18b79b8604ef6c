package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// An event's ID is the same at every delivery of its key, and differs by
// key, position and prefix.
func TestEventIDIsStable(t *testing.T) {
	t.Parallel()
	id := outbox.EventID("payments", "e-1", 0)
	require.Equal(t, id, outbox.EventID("payments", "e-1", 0))
	require.Len(t, id, 32)
	seen := map[string]bool{id: true}
	for _, other := range []string{
		outbox.EventID("payments", "e-1", 1), outbox.EventID("payments", "e-2", 0), outbox.EventID("refunds", "e-1", 0),
		outbox.EventID("payments", "e-11", 0), outbox.EventID("payments#", "e-1", 0),
	} {
		require.False(t, seen[other], other)
		seen[other] = true
	}
}

// Writes round-trips every destination through its item, under the
// event's stable ID, and refuses events that can never be published.
func TestWrites(t *testing.T) {
	t.Parallel()
	table := outbox.Table{Name: "outbox"}
	evs := []outbox.Event{
		{To: outbox.SQS{QueueURL: "https://q.fifo", GroupID: "acc-1", DeduplicationID: "d"}, Body: "a", Attributes: map[string]string{"k": "v"}},
		{To: outbox.SNS{TopicARN: "arn:aws:sns:us-east-1:1:t"}, Body: "b"},
		{To: outbox.EventBridge{Source: "ledger", DetailType: "BalanceChanged", Resources: []string{"arn:x"}}, Body: `{"a":1}`},
	}
	ws, err := table.Writes("p", "k", evs, time.UnixMilli(1700000000000))
	require.NoError(t, err)
	require.Len(t, ws, 3)

	for _, tc := range []struct {
		name string
		ev   outbox.Event
		is   error
	}{
		{"no destination", outbox.Event{Body: "x"}, outbox.ErrInvalidEvent},
		{"empty body", outbox.Event{To: outbox.SQS{QueueURL: "https://q"}}, outbox.ErrInvalidEvent},
		{"FIFO queue without group", outbox.Event{To: outbox.SQS{QueueURL: "https://q.fifo"}, Body: "x"}, outbox.ErrInvalidEvent},
		{"FIFO topic without group", outbox.Event{To: outbox.SNS{TopicARN: "arn:t.fifo"}, Body: "x"}, outbox.ErrInvalidEvent},
		{"dedup on a standard queue", outbox.Event{To: outbox.SQS{QueueURL: "https://q", DeduplicationID: "d"}, Body: "x"}, outbox.ErrInvalidEvent},
		{"EventBridge without source", outbox.Event{To: outbox.EventBridge{DetailType: "d"}, Body: "{}"}, outbox.ErrInvalidEvent},
		{"EventBridge detail not an object", outbox.Event{To: outbox.EventBridge{Source: "s", DetailType: "d"}, Body: "1"}, outbox.ErrInvalidEvent},
		{"EventBridge attributes", outbox.Event{To: outbox.EventBridge{Source: "s", DetailType: "d"}, Body: "{}", Attributes: map[string]string{"a": "b"}}, outbox.ErrInvalidEvent},
		{"the relay's attribute", outbox.Event{To: outbox.SQS{QueueURL: "https://q"}, Body: "x", Attributes: map[string]string{outbox.AttrEventID: "x"}}, outbox.ErrInvalidEvent},
		{"over an item", outbox.Event{To: outbox.SQS{QueueURL: "https://q"}, Body: strings.Repeat("x", dynamostore.MaxItemSize)}, dynamostore.ErrInvalidWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := table.Writes("p", "k", append(evs[:1:1], tc.ev), time.Now())
			var ee *outbox.EventError
			require.True(t, errors.As(err, &ee), "%v", err)
			require.Equal(t, 1, ee.Index)
			require.ErrorIs(t, err, tc.is)
		})
	}
}

func TestTableValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		table outbox.Table
		field string
	}{
		{outbox.Table{}, "Table.Name"},
		{outbox.Table{Name: "t", PartitionKey: "id", SortKey: "id"}, "Table.SortKey"},
		{outbox.Table{Name: "t", TTLAttribute: "body"}, "Table"},
	} {
		var ce *outbox.ConfigError
		require.ErrorAs(t, tc.table.Validate(), &ce)
		require.Equal(t, tc.field, ce.Field)
		require.ErrorIs(t, ce, outbox.ErrInvalidConfig)
	}
	require.NoError(t, outbox.Table{Name: "t"}.Validate())
}

// The relay's metrics line is Embedded Metric Format with the batch's counts.
func TestRelayMetrics(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	r, err := outbox.NewRelay(outbox.RelayConfig{Table: outbox.Table{Name: "t"}, Logger: slog.New(slog.DiscardHandler),
		Metrics: &outbox.EMF{Writer: &buf, Dimensions: map[string]string{"FunctionName": "relay"}}}, outbox.Clients{DynamoDB: noDB{}})
	require.NoError(t, err)
	r.Process(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "REMOVE"}}})
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(buf.String()), &line))
	require.Equal(t, "relay", line["FunctionName"])
	require.Equal(t, 0.0, line[outbox.MetricRefused])
	cw := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	require.Equal(t, outbox.MetricsNamespace, cw["Namespace"])
	require.Equal(t, []any{[]any{"FunctionName"}}, cw["Dimensions"])
}

// noDB is a TableAPI that is never called.
type noDB struct{ outbox.TableAPI }
