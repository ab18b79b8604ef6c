package consumer_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// With NOTIFY_QUEUE_URL, each applied event commits its BalanceChanged
// notification to the outbox, once, under its stable ID; a duplicate
// commits none.
func TestConsumerNotifiesThroughTheOutbox(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	ob := awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})
	cfg, err := consumer.LoadConfig(env(map[string]string{
		"IDEMPOTENCY_TABLE": awstest.NewTable(t, db, awstest.IdempotencyTable), "LEDGER_TABLE": awstest.NewTable(t, db, awstest.LedgerTable),
		"NOTIFY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/balance-changed.fifo", "OUTBOX_TABLE": ob,
	}))
	require.NoError(t, err)
	h, err := consumer.New(cfg, consumer.Clients{DynamoDB: db}, io.Discard)
	require.NoError(t, err)
	body := func(id, account string) string {
		return `{"id":"` + id + `","account":"` + account + `","amount":100,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`
	}
	ev := sqsEvent([]string{"m1", "m2", "m3"}, body("e1", "acc-1"), body("e2", "acc-2"), body("e1", "acc-1"))
	for range 2 {
		report, err := h.Process(context.Background(), ev)
		require.NoError(t, err)
		require.Empty(t, failures(report.Response))
	}
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(ob)})
	require.NoError(t, err)
	got := map[string]outbox.Item{}
	for _, raw := range out.Items {
		it, ok, err := cfg.Notify.Outbox.ParseItem(raw)
		require.NoError(t, err)
		require.True(t, ok)
		got[it.ID] = it
	}
	require.Len(t, got, 2)
	e1 := got[outbox.EventID("payments", "e1", 0)]
	require.Equal(t, outbox.SQS{QueueURL: cfg.Notify.QueueURL, GroupID: "acc-1"}, e1.Event.To)
	notified, err := ledger.Decode([]byte(e1.Event.Body))
	require.NoError(t, err, "the notification is a ledger event")
	require.Equal(t, "e1", notified.ID)
	require.Equal(t, ledger.DetailTypeBalanceChanged, e1.Event.Attributes["type"])
}

func TestLoadConfigNotify(t *testing.T) {
	t.Parallel()
	base := map[string]string{"IDEMPOTENCY_TABLE": "i", "LEDGER_TABLE": "l"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cfg, err := consumer.LoadConfig(env(base))
	require.NoError(t, err)
	require.Nil(t, cfg.Notify, "off by default")
	for name, vars := range map[string]map[string]string{
		"OUTBOX_TABLE":     {"OUTBOX_TABLE": "ob"},
		"NOTIFY_QUEUE_URL": {"NOTIFY_QUEUE_URL": "https://q", "OUTBOX_TABLE": "ob", "IDEMPOTENCY_STORE": "redis", "REDIS_URL": "redis://x:1"},
	} {
		_, err := consumer.LoadConfig(env(with(vars)))
		var ce *consumer.ConfigError
		require.ErrorAs(t, err, &ce, name)
		require.ErrorContains(t, err, name)
	}
	_, err = consumer.LoadConfig(env(with(map[string]string{"NOTIFY_QUEUE_URL": "https://q"})))
	require.ErrorContains(t, err, "OUTBOX_TABLE: required")
}
