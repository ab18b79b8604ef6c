package redrive_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// sent is one message put in a DLQ.
type sent struct {
	body, group, dedup, attr string
}

// fillDLQ sends n messages to the queue at url and returns them. Two bodies
// are sent twice, so bodies form a multiset; each message's "origin"
// attribute is unique.
func fillDLQ(t *testing.T, client *sqs.Client, url string, fifo bool, n int) []sent {
	t.Helper()
	var msgs []sent
	for i := range n {
		s := sent{body: fmt.Sprintf(`{"id":"evt-%02d"}`, i%(n-2)), attr: fmt.Sprint("attr-", i)} // two bodies twice: a multiset
		if fifo {
			s.group = fmt.Sprint("account-", i%3)
			s.dedup = fmt.Sprint("dedup-", i)
		}
		msgs = append(msgs, s)
	}
	for start := 0; start < n; start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i, s := range msgs[start:min(start+10, n)] {
			e := types.SendMessageBatchRequestEntry{
				Id:          aws.String(fmt.Sprint(i)),
				MessageBody: aws.String(s.body),
				MessageAttributes: map[string]types.MessageAttributeValue{
					"origin": {DataType: aws.String("String"), StringValue: aws.String(s.attr)},
				},
			}
			if fifo {
				e.MessageGroupId = aws.String(s.group)
				e.MessageDeduplicationId = aws.String(s.dedup)
			}
			entries = append(entries, e)
		}
		out, err := client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		require.NoError(t, err)
		require.Empty(t, out.Failed)
	}
	return msgs
}

// requireSame checks that got holds the messages of want, each exactly as
// often as the queue they came from held it. queued is that queue's count:
// it equals len(want) unless an SDK retry of a send that moto had executed
// enqueued a message twice (rare, under load); then the check is by set and
// count.
func requireSame(t *testing.T, want []sent, queued int, got []sent) {
	t.Helper()
	if queued == len(want) {
		require.ElementsMatch(t, want, got)
		return
	}
	t.Logf("the queue held %d messages for %d sends", queued, len(want))
	require.Len(t, got, queued)
	require.ElementsMatch(t, uniq(want), uniq(got))
}

func uniq(msgs []sent) []sent {
	seen := map[sent]bool{}
	var out []sent
	for _, m := range msgs {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// drain empties a queue, deleting what it receives (a FIFO queue hides a
// group while one of its messages is in flight), and returns what it held.
func drain(t *testing.T, client *sqs.Client, url string) []sent {
	t.Helper()
	var got []sent
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			return got
		}
		for _, m := range out.Messages {
			got = append(got, sent{
				body:  aws.ToString(m.Body),
				group: m.Attributes["MessageGroupId"],
				dedup: m.Attributes["MessageDeduplicationId"],
				attr:  aws.ToString(m.MessageAttributes["origin"].StringValue),
			})
			_, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
}

func TestRedriveFallbackMovesEveryMessageOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fifo bool
	}{
		{name: "standard"},
		{name: "fifo", fifo: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := awstest.SQS(t)
			q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: tc.fifo})
			const n = 27
			want := fillDLQ(t, client, q.DLQURL, tc.fifo, n)
			queued := awstest.Visible(t, client, q.DLQURL)

			var progress []redrive.Progress
			res, err := redrive.Redrive(context.Background(), client, q.DLQURL, q.URL, redrive.Options{
				Progress: func(p redrive.Progress) { progress = append(progress, p) },
			})
			require.NoError(t, err)
			require.Equal(t, redrive.MethodReceiveSend, res.Method, "moto lacks StartMessageMoveTask")
			require.Equal(t, redrive.Progress{Moved: int64(queued)}, res.Progress)
			require.Zero(t, res.DeleteFailed)
			require.NotEmpty(t, progress)
			require.Equal(t, res.Progress, progress[len(progress)-1])

			requireSame(t, want, queued, drain(t, client, q.URL)) // every message exactly once, attributes and FIFO ids kept
			require.Empty(t, drain(t, client, q.DLQURL))
		})
	}
}

func TestRedriveMoveTaskOnlyFailsWithoutSupport(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	want := fillDLQ(t, client, q.DLQURL, false, 3)
	queued := awstest.Visible(t, client, q.DLQURL)

	res, err := redrive.Redrive(context.Background(), client, q.DLQURL, q.URL, redrive.Options{Method: redrive.MethodMoveTask})
	require.ErrorIs(t, err, redrive.ErrMoveTaskUnsupported)
	require.Zero(t, res.Moved)
	requireSame(t, want, queued, drain(t, client, q.DLQURL)) // nothing moved
}

// moveTaskClient is a real client whose endpoint pretends to run message
// move tasks: it answers StartMessageMoveTask and reports the task RUNNING,
// then COMPLETED (or finalStatus), and counts the loop's calls.
type moveTaskClient struct {
	*sqs.Client
	finalStatus string

	mu        sync.Mutex
	started   []*sqs.StartMessageMoveTaskInput
	polls     int
	loopCalls atomic.Int64
}

func (c *moveTaskClient) StartMessageMoveTask(_ context.Context, in *sqs.StartMessageMoveTaskInput, _ ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = append(c.started, in)
	return &sqs.StartMessageMoveTaskOutput{TaskHandle: aws.String("task-1")}, nil
}

func (c *moveTaskClient) ListMessageMoveTasks(_ context.Context, in *sqs.ListMessageMoveTasksInput, _ ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.polls++
	older := types.ListMessageMoveTasksResultEntry{Status: aws.String("COMPLETED"), ApproximateNumberOfMessagesMoved: 99, SourceArn: in.SourceArn}
	if c.polls == 1 {
		running := types.ListMessageMoveTasksResultEntry{TaskHandle: aws.String("task-1"), Status: aws.String("RUNNING"),
			ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: aws.Int64(5), SourceArn: in.SourceArn}
		return &sqs.ListMessageMoveTasksOutput{Results: []types.ListMessageMoveTasksResultEntry{running, older}}, nil
	}
	status := c.finalStatus
	if status == "" {
		status = "COMPLETED"
	}
	moved := int64(5)
	if status != "COMPLETED" {
		moved = 3
	}
	done := types.ListMessageMoveTasksResultEntry{Status: aws.String(status), ApproximateNumberOfMessagesMoved: moved,
		ApproximateNumberOfMessagesToMove: aws.Int64(5), FailureReason: aws.String("reason"), SourceArn: in.SourceArn}
	return &sqs.ListMessageMoveTasksOutput{Results: []types.ListMessageMoveTasksResultEntry{done, older}}, nil
}

func (c *moveTaskClient) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	c.loopCalls.Add(1)
	return c.Client.ReceiveMessage(ctx, in, optFns...)
}

func (c *moveTaskClient) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.loopCalls.Add(1)
	return c.Client.SendMessageBatch(ctx, in, optFns...)
}

func TestRedriveUsesMoveTaskWhereSupported(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		method      redrive.Method
		finalStatus string
		want        redrive.Result
		wantErr     error
	}{
		{name: "auto picks the move task", method: redrive.MethodAuto,
			want: redrive.Result{Method: redrive.MethodMoveTask, TaskHandle: "task-1", Progress: redrive.Progress{Moved: 5}}},
		{name: "forced move task", method: redrive.MethodMoveTask,
			want: redrive.Result{Method: redrive.MethodMoveTask, TaskHandle: "task-1", Progress: redrive.Progress{Moved: 5}}},
		{name: "failed task is an error, not a fallback", method: redrive.MethodAuto, finalStatus: "FAILED",
			want:    redrive.Result{Method: redrive.MethodMoveTask, TaskHandle: "task-1", Progress: redrive.Progress{Moved: 3, Failed: 2}},
			wantErr: redrive.ErrTaskFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			real := awstest.SQS(t)
			q := awstest.NewQueue(t, real, awstest.QueueSpec{})
			client := &moveTaskClient{Client: real, finalStatus: tc.finalStatus}

			var progress []int64
			res, err := redrive.Redrive(context.Background(), client, q.DLQURL, q.URL, redrive.Options{
				Method:                       tc.method,
				MaxNumberOfMessagesPerSecond: 50,
				TaskPollInterval:             time.Millisecond,
				Progress:                     func(p redrive.Progress) { progress = append(progress, p.Moved) },
			})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, res)
			require.Equal(t, []int64{2, tc.want.Moved}, progress)
			require.Len(t, client.started, 1)
			require.Equal(t, q.DLQARN, aws.ToString(client.started[0].SourceArn))
			require.Equal(t, q.ARN, aws.ToString(client.started[0].DestinationArn))
			require.Equal(t, int32(50), aws.ToInt32(client.started[0].MaxNumberOfMessagesPerSecond))
			require.Zero(t, client.loopCalls.Load(), "no receive/send loop when the task runs")
		})
	}
}

// rejectingClient is a real client whose SendMessageBatch refuses the
// entries with a given body, as SQS refuses single entries of a batch.
type rejectingClient struct {
	*sqs.Client
	reject string
}

func (c *rejectingClient) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	var keep []types.SendMessageBatchRequestEntry
	var refused []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if aws.ToString(e.MessageBody) == c.reject {
			refused = append(refused, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: false})
			continue
		}
		keep = append(keep, e)
	}
	out := &sqs.SendMessageBatchOutput{}
	if len(keep) > 0 {
		real, err := c.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: in.QueueUrl, Entries: keep}, optFns...)
		if err != nil {
			return nil, err
		}
		out = real
	}
	out.Failed = append(out.Failed, refused...)
	return out, nil
}

func TestRedriveDeletesOnlyWhatTheDestinationAccepted(t *testing.T) {
	t.Parallel()
	real := awstest.SQS(t)
	q := awstest.NewQueue(t, real, awstest.QueueSpec{})
	all := fillDLQ(t, real, q.DLQURL, false, 12)
	queued := awstest.Visible(t, real, q.DLQURL)
	rejectBody := all[0].body // evt-00, sent twice (see fillDLQ)

	res, err := redrive.Redrive(context.Background(), &rejectingClient{Client: real, reject: rejectBody}, q.DLQURL, q.URL,
		redrive.Options{Method: redrive.MethodReceiveSend, VisibilityTimeout: 1})
	require.NoError(t, err)
	require.Equal(t, int64(queued), res.Moved+res.Failed)
	require.GreaterOrEqual(t, res.Failed, int64(2))

	var wantMoved, wantKept []sent
	for _, s := range all {
		if s.body == rejectBody {
			wantKept = append(wantKept, s)
		} else {
			wantMoved = append(wantMoved, s)
		}
	}
	moved := drain(t, real, q.URL)
	requireSame(t, wantMoved, int(res.Moved), moved)

	// The refused messages are still in the DLQ, hidden until the redrive's
	// one-second visibility timeout ends.
	requireSame(t, wantKept, int(res.Failed), longPoll(t, real, q.DLQURL, int(res.Failed)))
}

// longPoll receives until it has n messages, waiting for hidden ones to
// become visible.
func longPoll(t *testing.T, client *sqs.Client, url string, n int) []sent {
	t.Helper()
	var got []sent
	for range 10 {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 5,
			MessageAttributeNames: []string{"All"},
		})
		require.NoError(t, err)
		for _, m := range out.Messages {
			got = append(got, sent{body: aws.ToString(m.Body), attr: aws.ToString(m.MessageAttributes["origin"].StringValue)})
		}
		if len(got) >= n {
			return got
		}
	}
	t.Fatalf("received %d of %d messages", len(got), n)
	return nil
}
