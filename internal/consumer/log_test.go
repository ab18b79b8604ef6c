package consumer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
)

// Lambda filters JSON application logs by their "level" and reads their
// time from "timestamp" (RFC 3339): a line without a valid timestamp counts
// as INFO and is dropped at LOG_LEVEL WARN or ERROR. Every line the
// consumer writes carries both, so a failed record's WARN line survives.
func TestLogLinesCarryLambdasLevelAndTimestamp(t *testing.T) {
	t.Parallel()
	cfg, err := consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_TABLE": "i", "LEDGER_TABLE": "l", "LOG_LEVEL": "WARN"}))
	require.NoError(t, err)
	require.Equal(t, slog.LevelWarn, cfg.LogLevel)
	var out bytes.Buffer
	h, err := consumer.New(cfg, consumer.Clients{DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"})}, &out)
	require.NoError(t, err)
	// An undecodable body fails without a call to AWS, logged at WARN.
	_, err = h.Process(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: "{", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:q"}}})
	require.NoError(t, err)
	lines := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		ts, _ := line["timestamp"].(string)
		_, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(t, err, "timestamp of %s", sc.Bytes())
		require.Contains(t, []any{"WARN", "ERROR"}, line["level"], "%s", sc.Bytes())
		lines++
	}
	require.Positive(t, lines)
}
