package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// sendFirstSent sends body to url as a copy made by an earlier redrive: it
// carries its first send time, sent.
func sendFirstSent(t *testing.T, client *sqs.Client, url, body string, sent time.Time) {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}
	if !sent.IsZero() {
		in.MessageAttributes = map[string]sqstypes.MessageAttributeValue{
			redrive.AttrFirstSentAt: {DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(sent.UnixMilli(), 10))},
		}
	}
	_, err := client.SendMessage(context.Background(), in)
	require.NoError(t, err)
}

// redriveJSON is redrive's --output json.
type redriveJSON struct {
	Moved      int64  `json:"moved"`
	Failed     int64  `json:"failed"`
	TTL        string `json:"ttl"`
	TooOld     int64  `json:"tooOld"`
	OldestSecs int64  `json:"oldestTooOldSeconds"`
}

// TestRedriveRefusesMessagesOlderThanTTL: a DLQ message first sent more
// than the idempotency TTL ago stays in the DLQ (its record may have
// expired, so a redrive would apply its effect again), is reported with
// what to do, and moves only with --allow-older-than-ttl. The TTL is the
// stack's IdempotencyTTL parameter, or --ttl.
func TestRedriveRefusesMessagesOlderThanTTL(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	stack, queueURL, dlqURL := newStackTTL(t, "unused-table", "2h")
	sendFirstSent(t, client, dlqURL, `{"id":"evt-young"}`, time.Time{})
	sendFirstSent(t, client, dlqURL, `{"id":"evt-old"}`, time.Now().Add(-3*time.Hour))

	code, out, errOut := runCLI(t, "", "redrive", "--stack-name", stack, "--output", "json")
	require.Equal(t, exitFailure, code, "not everything moved: %s", errOut)
	var got redriveJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Equal(t, "2h0m0s", got.TTL, "the stack's IdempotencyTTL")
	require.GreaterOrEqual(t, got.Moved, int64(1))
	require.GreaterOrEqual(t, got.TooOld, int64(1))
	require.InDelta(t, (3 * time.Hour).Seconds(), float64(got.OldestSecs), 120)
	require.Contains(t, errOut, "first sent more than 2h0m0s ago (the oldest 3h0m")
	require.Contains(t, errOut, "--allow-older-than-ttl")
	require.Contains(t, errOut, "sqsonce dlq")
	left := awstest.Bodies(awstest.Drain(t, client, dlqURL))
	require.Equal(t, map[string]int{`{"id":"evt-old"}`: left[`{"id":"evt-old"}`]}, left, "only the old one stays")
	require.Contains(t, awstest.Bodies(awstest.Drain(t, client, queueURL)), `{"id":"evt-young"}`)

	sendFirstSent(t, client, dlqURL, `{"id":"evt-old"}`, time.Now().Add(-3*time.Hour))
	code, out, errOut = runCLI(t, "", "redrive", "--stack-name", stack, "--ttl", "4h")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `moved [1-9]\d* messages`, out, "--ttl wins over the stack's")
	require.NotContains(t, out, "left")
}

// TestRedriveTTLDefault: without a stack the TTL is idempotency.TTLDefault;
// --allow-older-than-ttl moves every message; a move task, which cannot
// leave old messages behind, needs it.
func TestRedriveTTLDefault(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	sendFirstSent(t, client, q.DLQURL, `{"id":"evt-ancient"}`, time.Now().Add(-400*time.Hour))

	code, out, errOut := runCLI(t, "", "redrive", "--dlq-url", q.DLQURL, "--queue-url", q.URL)
	require.Equal(t, exitFailure, code, errOut)
	require.Contains(t, out, "moved 0 messages")
	require.Regexp(t, `left [1-9]\d* messages first sent more than \S+ \(the TTL\) ago; the oldest 400h0m`, out)
	require.GreaterOrEqual(t, awstest.Visible(t, client, q.DLQURL), 1, "still in the DLQ, visible again at once")
	require.Zero(t, awstest.Visible(t, client, q.URL))

	code, out, errOut = runCLI(t, "", "redrive", "--dlq-url", q.DLQURL, "--queue-url", q.URL, "--allow-older-than-ttl", "--output", "json")
	require.Equal(t, exitOK, code, errOut)
	var got redriveJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.GreaterOrEqual(t, got.Moved, int64(1))
	require.Zero(t, got.TooOld)
	require.Empty(t, got.TTL, "no age limit applied")
	require.Zero(t, awstest.Visible(t, client, q.DLQURL))

	code, out, errOut = runCLI(t, "", "redrive", "--dlq-url", q.DLQURL, "--queue-url", q.URL, "--method", "move-task")
	require.Equal(t, exitUsage, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "--allow-older-than-ttl")
}
