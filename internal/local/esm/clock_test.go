package esm_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
)

// memQueue is an in-memory SQS queue for tests on synctest's fake clock: a
// receive with nothing visible waits its long-poll time, as SQS does.
type memQueue struct {
	mu       sync.Mutex
	visible  []types.Message
	inFlight map[string]types.Message // by receipt handle
	next     int
}

func newMemQueue(n int) *memQueue {
	q := &memQueue{inFlight: map[string]types.Message{}}
	for i := range n {
		id := strconv.Itoa(i)
		q.visible = append(q.visible, types.Message{MessageId: aws.String("m-" + id), Body: aws.String(id), Attributes: map[string]string{}})
	}
	return q
}

func (q *memQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	if len(q.visible) == 0 {
		q.mu.Unlock()
		select {
		case <-time.After(time.Duration(in.WaitTimeSeconds) * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &sqs.ReceiveMessageOutput{}, nil
	}
	defer q.mu.Unlock()
	n := min(int(in.MaxNumberOfMessages), len(q.visible))
	out := q.visible[:n:n]
	q.visible = q.visible[n:]
	for i := range out {
		q.next++
		out[i].ReceiptHandle = aws.String("r-" + strconv.Itoa(q.next))
		q.inFlight[*out[i].ReceiptHandle] = out[i]
	}
	return &sqs.ReceiveMessageOutput{Messages: out}, nil
}

func (q *memQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		delete(q.inFlight, aws.ToString(e.ReceiptHandle))
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (q *memQueue) GetQueueAttributes(_ context.Context, _ *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"QueueArn":                              "arn:aws:sqs:eu-west-1:123456789012:mem",
		"ApproximateNumberOfMessages":           strconv.Itoa(len(q.visible)),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(len(q.inFlight)),
		"ApproximateNumberOfMessagesDelayed":    "0",
	}}, nil
}

// timedRecorder records each invocation's size and fake time.
type timedRecorder struct {
	mu    sync.Mutex
	sizes []int
	at    []time.Time
}

func (r *timedRecorder) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes, r.at = append(r.sizes, len(ev.Records)), append(r.at, time.Now())
	return []byte(`{"batchItemFailures":[]}`), nil
}

// A batching window that passes before the batch fills ends it: the 15
// messages there are go in one invocation exactly when the window ends,
// whatever the machine's load (the clock is synctest's).
func TestBatchingWindowEndsAPartialBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue(15)
		rec := &timedRecorder{}
		m, err := esm.New(esm.Config{
			QueueURL: "mem", Client: q, Invokers: []esm.Invoker{rec},
			BatchSize: 25, MaximumBatchingWindow: 20 * time.Second, WaitTimeSeconds: 20,
		})
		require.NoError(t, err)
		began := time.Now()
		require.NoError(t, m.RunUntilDrained(t.Context(), time.Second))
		require.Equal(t, []int{15}, rec.sizes, "one partial batch")
		require.Equal(t, 20*time.Second, rec.at[0].Sub(began), "invoked when the window ended")
	})
}

// RunUntilDrained returns once the queue has stayed empty for the idle
// time, not before.
func TestRunUntilDrainedWaitsTheIdleTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue(3)
		rec := &timedRecorder{}
		m, err := esm.New(esm.Config{QueueURL: "mem", Client: q, Invokers: []esm.Invoker{rec}, WaitTimeSeconds: 1,
			DrainCheckInterval: time.Second})
		require.NoError(t, err)
		began := time.Now()
		require.NoError(t, m.RunUntilDrained(t.Context(), 5*time.Second))
		require.Equal(t, []int{3}, rec.sizes)
		// Checks at 1s (empty since then), ..., 6s (empty for 5s); Run then
		// ends its pollers' long polls of 1s.
		elapsed := time.Since(began)
		require.GreaterOrEqual(t, elapsed, 6*time.Second)
		require.LessOrEqual(t, elapsed, 7*time.Second)
	})
}
