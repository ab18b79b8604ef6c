package redrive_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// sendAged sends body to url, first sent at sent when it is not zero (as a
// copy made by an earlier redrive carries it).
func sendAged(t *testing.T, client *sqs.Client, url, body string, sent time.Time) {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}
	if !sent.IsZero() {
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			redrive.AttrFirstSentAt: {DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(sent.UnixMilli(), 10))},
		}
	}
	_, err := client.SendMessage(context.Background(), in)
	require.NoError(t, err)
}

// bodies receives every message of url (deleting it) and returns each
// body with its AttrFirstSentAt, or "" when it has none.
func bodies(t *testing.T, client *sqs.Client, url string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range awstest.Drain(t, client, url) {
		got[aws.ToString(m.Body)] = aws.ToString(m.MessageAttributes[redrive.AttrFirstSentAt].StringValue)
	}
	return got
}

// TestRedriveLeavesMessagesOlderThanMaxAge: a message first sent more than
// MaxAge ago (its idempotency record may have expired) stays in the DLQ,
// visible again at once, and is counted; the others move, and each copy
// carries its first send time, so its age survives a second trip to the DLQ.
func TestRedriveLeavesMessagesOlderThanMaxAge(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	old := time.Now().Add(-48 * time.Hour)
	sendAged(t, client, q.DLQURL, "young-1", time.Time{})
	sendAged(t, client, q.DLQURL, "young-2", time.Time{})
	sendAged(t, client, q.DLQURL, "young-3", time.Now().Add(-2*time.Hour))
	sendAged(t, client, q.DLQURL, "old-1", old)
	sendAged(t, client, q.DLQURL, "old-2", old.Add(-time.Hour))

	start := time.Now()
	res, err := redrive.Redrive(context.Background(), client, q.DLQURL, q.URL, redrive.Options{MaxAge: 24 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, redrive.MethodReceiveSend, res.Method, "a move task cannot leave old messages behind")
	require.GreaterOrEqual(t, res.Moved, int64(3))
	require.Equal(t, int64(2), res.TooOld)
	require.InDelta(t, (49 * time.Hour).Seconds(), res.OldestTooOld.Seconds(), time.Since(start).Seconds()+2)

	require.GreaterOrEqual(t, awstest.Visible(t, client, q.DLQURL), 2, "the old ones stay, visible again at once (sends are at least once)")
	left := bodies(t, client, q.DLQURL)
	require.Contains(t, left, "old-1")
	require.Contains(t, left, "old-2")

	moved := bodies(t, client, q.URL)
	require.Len(t, moved, 3)
	for body, first := range moved {
		ms, err := strconv.ParseInt(first, 10, 64)
		require.NoError(t, err, "%s carries %s", body, redrive.AttrFirstSentAt)
		want := start
		if body == "young-3" {
			want = start.Add(-2 * time.Hour)
		}
		require.WithinDuration(t, want, time.UnixMilli(ms), time.Minute, body)
	}
}

// TestRedriveMaxAgeClock: ages are measured on Options.Now; a message of
// unknown age counts as too old.
func TestRedriveMaxAgeClock(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	sendAged(t, client, q.DLQURL, "m-1", time.Time{})
	sendAged(t, client, q.DLQURL, "m-2", time.Time{})
	later := func() time.Time { return time.Now().Add(15 * 24 * time.Hour) }
	res, err := redrive.Redrive(context.Background(), client, q.DLQURL, q.URL, redrive.Options{MaxAge: 14 * 24 * time.Hour, Now: later})
	require.NoError(t, err)
	require.Zero(t, res.Moved)
	require.GreaterOrEqual(t, res.TooOld, int64(2))
	require.Zero(t, awstest.Visible(t, client, q.URL))

	_, err = redrive.Redrive(context.Background(), client, q.DLQURL, q.URL, redrive.Options{Method: redrive.MethodMoveTask, MaxAge: time.Hour})
	require.ErrorIs(t, err, redrive.ErrInvalidOptions)
}
