package esm_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// drainIdle is how long a test's queue must stay empty to count as drained.
const drainIdle = 300 * time.Millisecond

// recorder is an in-process function: it records every event and answers
// with respond (default: complete success). It fails the test's invariant
// check if called concurrently, as an emulator would crash.
type recorder struct {
	respond func(call int, ev events.SQSEvent) ([]byte, error)

	mu         sync.Mutex
	events     []events.SQSEvent
	raw        [][]byte
	busy       atomic.Bool
	concurrent atomic.Int64
}

func (r *recorder) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	if !r.busy.CompareAndSwap(false, true) {
		r.concurrent.Add(1)
		return nil, errors.New("concurrent invocation")
	}
	defer r.busy.Store(false)
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	r.mu.Lock()
	call := len(r.events)
	r.events = append(r.events, ev)
	r.raw = append(r.raw, payload)
	r.mu.Unlock()
	if r.respond == nil {
		return []byte(`{"batchItemFailures":[]}`), nil
	}
	return r.respond(call, ev)
}

// delivery is what the function saw of one message.
type delivery struct {
	body   string
	counts []string // ApproximateReceiveCount of each delivery
}

// byID collects each message's deliveries over all recorders. Tests assert
// on message ids, what the queue really held, rather than on the bodies
// sent: an SDK retry of a send that moto had executed (rare, under load)
// enqueues a body twice.
func byID(rs ...*recorder) map[string]*delivery {
	out := map[string]*delivery{}
	for _, r := range rs {
		r.mu.Lock()
		for _, ev := range r.events {
			for _, rec := range ev.Records {
				d := out[rec.MessageId]
				if d == nil {
					d = &delivery{body: rec.Body}
					out[rec.MessageId] = d
				}
				d.counts = append(d.counts, rec.Attributes["ApproximateReceiveCount"])
			}
		}
		r.mu.Unlock()
	}
	return out
}

func sendBodies(t *testing.T, client *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for start := 0; start < len(bodies); start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies[start:min(start+10, len(bodies))] {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(b)})
		}
		out, err := client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		require.NoError(t, err)
		require.Empty(t, out.Failed)
	}
}

func newMapping(t *testing.T, cfg esm.Config) *esm.Mapping {
	t.Helper()
	if cfg.WaitTimeSeconds == 0 {
		cfg.WaitTimeSeconds = 1 // keep moto's abandoned long polls short
	}
	cfg.DrainCheckInterval = 50 * time.Millisecond
	m, err := esm.New(cfg)
	require.NoError(t, err)
	return m
}

func runUntilDrained(t *testing.T, m *esm.Mapping) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, m.RunUntilDrained(ctx, drainIdle))
}

func TestEventIsWhatLambdaSends(t *testing.T) {
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
			body := `{"id":"evt-1","amount":5}`
			in := &sqs.SendMessageInput{
				QueueUrl:    aws.String(q.URL),
				MessageBody: aws.String(body),
				MessageAttributes: map[string]types.MessageAttributeValue{
					"kind":  {DataType: aws.String("String"), StringValue: aws.String("deposit")},
					"count": {DataType: aws.String("Number"), StringValue: aws.String("3")},
					"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
				},
			}
			if tc.fifo {
				in.MessageGroupId = aws.String("account-7")
				in.MessageDeduplicationId = aws.String("dedup-1")
			}
			sent, err := client.SendMessage(context.Background(), in)
			require.NoError(t, err)

			rec := &recorder{}
			runUntilDrained(t, newMapping(t, esm.Config{QueueURL: q.URL, Client: client, Invokers: []esm.Invoker{rec}}))

			require.NotEmpty(t, rec.events)
			require.NotEmpty(t, rec.events[0].Records)
			r := rec.events[0].Records[0]
			require.Equal(t, aws.ToString(sent.MessageId), r.MessageId)
			require.NotEmpty(t, r.ReceiptHandle)
			require.Equal(t, body, r.Body)
			sum := md5.Sum([]byte(body))
			require.Equal(t, hex.EncodeToString(sum[:]), r.Md5OfBody)
			require.Equal(t, aws.ToString(sent.MD5OfMessageAttributes), r.Md5OfMessageAttributes)
			require.Equal(t, "aws:sqs", r.EventSource)
			require.Equal(t, q.ARN, r.EventSourceARN)
			require.Equal(t, "us-east-1", r.AWSRegion)

			wantKeys := []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
			if tc.fifo {
				wantKeys = append(wantKeys, "SequenceNumber", "MessageGroupId", "MessageDeduplicationId")
				require.Equal(t, "account-7", r.Attributes["MessageGroupId"])
				require.Equal(t, "dedup-1", r.Attributes["MessageDeduplicationId"])
				require.Equal(t, aws.ToString(sent.SequenceNumber), r.Attributes["SequenceNumber"])
			}
			require.ElementsMatch(t, wantKeys, keys(r.Attributes))
			require.Equal(t, "1", r.Attributes["ApproximateReceiveCount"])

			require.Equal(t, events.SQSMessageAttribute{DataType: "String", StringValue: aws.String("deposit"),
				StringListValues: []string{}, BinaryListValues: [][]byte{}}, r.MessageAttributes["kind"])
			require.Equal(t, "Number", r.MessageAttributes["count"].DataType)
			require.Equal(t, "3", aws.ToString(r.MessageAttributes["count"].StringValue))
			require.Equal(t, "Binary", r.MessageAttributes["blob"].DataType)
			require.Equal(t, []byte{0, 1, 2}, r.MessageAttributes["blob"].BinaryValue)

			// On the wire, as from Lambda: lists are empty, not null.
			var raw struct {
				Records []struct {
					MessageAttributes map[string]map[string]json.RawMessage `json:"messageAttributes"`
				}
			}
			require.NoError(t, json.Unmarshal(rec.raw[0], &raw))
			require.JSONEq(t, `[]`, string(raw.Records[0].MessageAttributes["kind"]["stringListValues"]))
		})
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestReportedFailureIsRedeliveredThenDeadLettered(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{VisibilityTimeout: 1, MaxReceiveCount: 2})
	sendBodies(t, client, q.URL, "a", "b", "poison", "c", "d")

	rec := &recorder{respond: func(_ int, ev events.SQSEvent) ([]byte, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.Body == "poison" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return json.Marshal(resp)
	}}
	m := newMapping(t, esm.Config{QueueURL: q.URL, Client: client, Invokers: []esm.Invoker{rec}})
	runUntilDrained(t, m)

	var good, poison int64
	bodies := map[string]bool{}
	for id, d := range byID(rec) {
		bodies[d.body] = true
		if d.body == "poison" {
			poison++
			require.Equal(t, []string{"1", "2"}, d.counts, "%s: redelivered after its failure, until maxReceiveCount", id)
		} else {
			good++
			require.Equal(t, []string{"1"}, d.counts, "%s: delivered once and deleted", id)
		}
	}
	require.Equal(t, map[string]bool{"a": true, "b": true, "c": true, "d": true, "poison": true}, bodies)
	require.Equal(t, map[string]int{"poison": int(poison)}, awstest.Bodies(awstest.Drain(t, client, q.DLQURL)))
	st := m.Stats()
	require.Equal(t, good, st.Deleted)
	require.Equal(t, 2*poison, st.ReportedFailed)
	require.Zero(t, st.BatchFailures)
	require.Equal(t, good+2*poison, st.Received)
}

func TestWholeBatchFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		first func(ev events.SQSEvent) ([]byte, error)
	}{
		{name: "function error", first: func(events.SQSEvent) ([]byte, error) { return nil, errors.New("function error") }},
		{name: "bogus identifier", first: func(events.SQSEvent) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"itemIdentifier":"not-in-batch"}]}`), nil
		}},
		{name: "empty identifier", first: func(events.SQSEvent) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"itemIdentifier":""}]}`), nil
		}},
		{name: "unparseable response", first: func(events.SQSEvent) ([]byte, error) {
			return []byte(`Task timed out after 3.00 seconds`), nil
		}},
		{name: "valid id beside a bogus one", first: func(ev events.SQSEvent) ([]byte, error) {
			return fmt.Appendf(nil, `{"batchItemFailures":[{"itemIdentifier":%q},{"itemIdentifier":"x"}]}`, ev.Records[0].MessageId), nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := awstest.SQS(t)
			q := awstest.NewQueue(t, client, awstest.QueueSpec{VisibilityTimeout: 1, MaxReceiveCount: 3})
			sendBodies(t, client, q.URL, "a", "b", "c")

			rec := &recorder{respond: func(call int, ev events.SQSEvent) ([]byte, error) {
				if call == 0 {
					return tc.first(ev)
				}
				return []byte(`null`), nil
			}}
			m := newMapping(t, esm.Config{
				QueueURL: q.URL, Client: client, Invokers: []esm.Invoker{rec},
				MaximumBatchingWindow: time.Second, // gather all three in the first batch
			})
			runUntilDrained(t, m)

			first := rec.events[0].Records
			got := byID(rec)
			require.Len(t, first, len(got), "the first batch held every message")
			for _, r := range first {
				require.Equal(t, []string{"1", "2"}, got[r.MessageId].counts, "%s: every record of the failed batch comes again", r.Body)
			}
			st := m.Stats()
			require.Equal(t, int64(1), st.BatchFailures)
			require.Equal(t, int64(len(got)), st.Deleted)
			require.Zero(t, st.ReportedFailed)
			require.Empty(t, awstest.Bodies(awstest.Drain(t, client, q.DLQURL)))
		})
	}
}

func TestSeveralPollersDrainTheQueue(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	const n = 60
	bodies := make([]string, n)
	want := map[string]int{}
	for i := range bodies {
		bodies[i] = fmt.Sprintf("msg-%02d", i)
		want[bodies[i]] = 1
	}
	sendBodies(t, client, q.URL, bodies...)

	recs := []*recorder{{}, {}, {}, {}}
	invokers := make([]esm.Invoker, len(recs))
	for i, r := range recs {
		invokers[i] = r
	}
	m := newMapping(t, esm.Config{QueueURL: q.URL, Client: client, Invokers: invokers, BatchSize: 5})
	runUntilDrained(t, m)

	// SQS delivers at least once: two pollers may both receive a message
	// (moto's threaded server does this now and then, and so may SQS), so
	// the test asks that every message is delivered and none is left, not
	// that none is delivered twice.
	got := byID(recs...)
	seen := map[string]int{}
	deliveries := 0
	for _, d := range got {
		seen[d.body] = 1
		deliveries += len(d.counts)
	}
	require.Equal(t, want, seen)
	for i, r := range recs {
		require.Zero(t, r.concurrent.Load(), "invoker %d was called concurrently", i)
		for _, ev := range r.events {
			require.LessOrEqual(t, len(ev.Records), 5)
		}
	}
	st := m.Stats()
	require.Equal(t, int64(deliveries), st.Received)
	require.GreaterOrEqual(t, st.Deleted, int64(len(got)))
	require.Empty(t, awstest.Bodies(awstest.Drain(t, client, q.URL)))
}

func TestBatchingWindowGathersLargeBatches(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	bodies := make([]string, 25)
	for i := range bodies {
		bodies[i] = fmt.Sprint(i)
	}
	sendBodies(t, client, q.URL, bodies...)

	rec := &recorder{}
	m := newMapping(t, esm.Config{
		QueueURL: q.URL, Client: client, Invokers: []esm.Invoker{rec},
		// The batch fills long before the window ends (a full batch does not
		// wait for it), so a loaded machine cannot split it.
		BatchSize: 25, MaximumBatchingWindow: 300 * time.Second,
	})
	runUntilDrained(t, m)

	require.Len(t, rec.events[0].Records, 25, "one receive returns at most 10; the window gathers 25")
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	ok := esm.Config{QueueURL: "u", Client: &sqs.Client{}, Invokers: []esm.Invoker{&recorder{}}}
	cases := []struct {
		name  string
		edit  func(*esm.Config)
		field string
	}{
		{name: "no queue", edit: func(c *esm.Config) { c.QueueURL = "" }, field: "QueueURL"},
		{name: "no client", edit: func(c *esm.Config) { c.Client = nil }, field: "Client"},
		{name: "no invokers", edit: func(c *esm.Config) { c.Invokers = nil }, field: "Invokers"},
		{name: "nil invoker", edit: func(c *esm.Config) { c.Invokers = []esm.Invoker{nil} }, field: "Invokers[0]"},
		{name: "batch too big", edit: func(c *esm.Config) { c.BatchSize = 10001 }, field: "BatchSize"},
		{name: "big batch without window", edit: func(c *esm.Config) { c.BatchSize = 11 }, field: "MaximumBatchingWindow"},
		{name: "window too long", edit: func(c *esm.Config) { c.MaximumBatchingWindow = 301 * time.Second }, field: "MaximumBatchingWindow"},
		{name: "wait too long", edit: func(c *esm.Config) { c.WaitTimeSeconds = 21 }, field: "WaitTimeSeconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.edit(&cfg)
			_, err := esm.New(cfg)
			require.ErrorIs(t, err, esm.ErrInvalidConfig)
			require.Contains(t, err.Error(), tc.field)
		})
	}
	_, err := esm.New(ok)
	require.NoError(t, err)
}
