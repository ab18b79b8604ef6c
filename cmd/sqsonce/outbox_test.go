package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// `sqsonce outbox` shows what waits and what failed; `resend` makes failed
// items pending again. The items fail for real: the relay, on the outbox's
// stream, finds their queue missing.
func TestOutboxCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := awstest.DynamoDB(t)
	ob := awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})
	upd, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(ob),
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage}})
	require.NoError(t, err)
	q := awstest.NewQueue(t, awstest.SQS(t), awstest.QueueSpec{FIFO: true})
	missing := strings.TrimSuffix(q.URL, ".fifo") + "-missing.fifo"
	cfg := consumer.Config{
		IdempotencyTable: awstest.NewTable(t, db, awstest.IdempotencyTable), LedgerTable: awstest.NewTable(t, db, awstest.LedgerTable),
		KeyPrefix: "payments", TTL: time.Hour, Concurrency: 2,
		Notify: &consumer.Notify{QueueURL: missing, Outbox: outbox.Table{Name: ob}},
	}
	h, err := consumer.New(cfg, consumer.Clients{DynamoDB: db}, io.Discard)
	require.NoError(t, err)
	var ev events.SQSEvent
	for i := range 3 {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint(i), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events",
			Body: fmt.Sprintf(`{"id":"evt-%d","account":"acc-1","amount":100,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, i)})
	}
	_, err = h.Process(ctx, ev)
	require.NoError(t, err)

	got := runJSON[outboxJSON](t, exitOK, "outbox", "--table", ob)
	require.Equal(t, 3, got.Pending)
	require.NotNil(t, got.OldestPending)
	require.Empty(t, got.Failed)

	relay, err := outbox.NewRelay(outbox.RelayConfig{Table: outbox.Table{Name: ob}, Logger: slog.New(slog.DiscardHandler)},
		outbox.Clients{DynamoDB: db, SQS: awstest.SQS(t)})
	require.NoError(t, err)
	m, err := esm.NewStream(esm.StreamConfig{StreamARN: aws.ToString(upd.TableDescription.LatestStreamArn),
		Client: dynamodbstreams.NewFromConfig(awstest.Config(t)), PollInterval: 20 * time.Millisecond,
		Invoker: esm.Handler(relay.Handle)})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- m.Run(runCtx) }()
	require.Eventually(t, func() bool { return m.Stats().Records == 6 }, time.Minute, 20*time.Millisecond, "3 inserts, 3 marked failed")
	cancel()
	require.NoError(t, <-done)

	got = runJSON[outboxJSON](t, exitOK, "outbox", "--table", ob)
	require.Zero(t, got.Pending)
	require.Len(t, got.Failed, 3)
	require.Equal(t, "acc-1", got.Failed[0].Group)
	require.Contains(t, got.Failed[0].Error, "NonExistentQueue")
	one := outbox.EventID("payments", "evt-1", 0)

	code, out, errOut := runCLI(t, "", "outbox", "--table", ob)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "failed   3")
	require.Contains(t, out, one)

	code, out, errOut = runCLI(t, "", "outbox", "resend", one, "--table", ob)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "resent "+one)
	got = runJSON[outboxJSON](t, exitOK, "outbox", "--table", ob)
	require.Equal(t, 1, got.Pending)
	require.Len(t, got.Failed, 2)

	code, out, errOut = runCLI(t, "", "outbox", "resend", "--all-failed", "--table", ob)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, 2, strings.Count(out, "resent "))
	got = runJSON[outboxJSON](t, exitOK, "outbox", "--table", ob)
	require.Equal(t, 3, got.Pending)
	require.Empty(t, got.Failed)

	code, _, errOut = runCLI(t, "", "outbox", "resend", "nope", "--table", ob)
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "no item nope")
	for _, args := range [][]string{{"outbox"}, {"outbox", "resend", "--table", ob}, {"outbox", "--all-failed", "--table", ob}, {"outbox", "what", "--table", ob}} {
		code, _, _ := runCLI(t, "", args...)
		require.Equal(t, exitUsage, code, "%v", args)
	}
}
