package producer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// flakySender passes batches to the real SQS client but makes SQS "refuse"
// the entries that refuse picks, as a partially failed SendMessageBatch does.
type flakySender struct {
	*sqs.Client
	mu     sync.Mutex
	calls  int
	refuse func(call int, id string) (code string, senderFault, refused bool)
}

func (f *flakySender) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	var pass []types.SendMessageBatchRequestEntry
	var failed []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if code, senderFault, refused := f.refuse(call, aws.ToString(e.Id)); refused {
			failed = append(failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String(code), SenderFault: senderFault, Message: aws.String("injected")})
			continue
		}
		pass = append(pass, e)
	}
	out := &sqs.SendMessageBatchOutput{}
	if len(pass) > 0 {
		real, err := f.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: in.QueueUrl, Entries: pass}, optFns...)
		if err != nil {
			return nil, err
		}
		out.Successful = real.Successful
		failed = append(failed, real.Failed...)
	}
	out.Failed = failed
	return out, nil
}

func events(n int) []producer.Message {
	msgs := make([]producer.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("evt-%d", i)
		msgs[i] = producer.Message{
			Body:    fmt.Sprintf(`{"id":%q,"n":%d}`, id, i),
			GroupID: fmt.Sprintf("group-%d", i%3),
			DedupID: id,
		}
	}
	return msgs
}

func TestRetriesRefusedEntriesUntilAllAreSent(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	sender := &flakySender{Client: client, refuse: func(call int, id string) (string, bool, bool) {
		// The first two calls refuse every third entry, as a throttled SQS would.
		return "InternalError", false, call <= 2 && id[len(id)-1]%3 == 0
	}}
	p, err := producer.New(producer.Config{Client: sender, QueueURL: q.URL, Backoff: time.Millisecond})
	require.NoError(t, err)
	msgs := events(25)
	rep, err := p.Send(context.Background(), msgs)
	require.NoError(t, err)
	require.Equal(t, 25, rep.Sent)
	require.Positive(t, rep.Retried)
	require.Empty(t, rep.Failures)

	got := awstest.Bodies(awstest.Drain(t, client, q.URL))
	require.Len(t, got, 25, "no other message on the queue")
	for _, m := range msgs {
		// At least once: an SDK retry of a send whose answer was lost may
		// enqueue a copy, which consumers deduplicate by event id.
		require.GreaterOrEqual(t, got[m.Body], 1, "every event on the queue")
	}
}

func TestReportsWhatItCouldNotSend(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	sender := &flakySender{Client: client, refuse: func(_ int, id string) (string, bool, bool) {
		switch id {
		case "3":
			return "InternalError", false, true // refused every time
		case "4":
			return "InvalidMessageContents", true, true // the sender's fault: not retried
		}
		return "", false, false
	}}
	p, err := producer.New(producer.Config{Client: sender, QueueURL: q.URL, MaxAttempts: 3, Backoff: time.Millisecond})
	require.NoError(t, err)
	rep, err := p.Send(context.Background(), events(12))
	require.ErrorIs(t, err, producer.ErrNotAllSent)
	require.Equal(t, 10, rep.Sent)
	require.ElementsMatch(t, []producer.Failure{
		{Index: 3, Code: "InternalError", Message: "injected"},
		{Index: 4, Code: "InvalidMessageContents", Message: "injected", SenderFault: true},
	}, rep.Failures)
	require.Equal(t, 2, rep.Retried, "entry 3 was offered three times in all, entry 4 once")
}

func TestFIFOSetsGroupAndDeduplication(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true})
	p, err := producer.New(producer.Config{Client: client, QueueURL: q.URL})
	require.NoError(t, err)
	require.True(t, p.FIFO())
	msgs := events(3)
	msgs = append(msgs, msgs[0]) // a producer retry within the deduplication window
	_, err = p.Send(context.Background(), msgs)
	require.NoError(t, err)
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	require.NoError(t, err)
	require.Len(t, out.Messages, 3, "SQS deduplicated the retry")
	for _, m := range out.Messages {
		require.NotEmpty(t, m.Attributes["MessageGroupId"])
		require.Regexp(t, `^evt-\d$`, m.Attributes["MessageDeduplicationId"])
	}

	_, err = p.Send(context.Background(), []producer.Message{{Body: "x"}})
	require.ErrorIs(t, err, producer.ErrNotAllSent, "FIFO messages need ids")
}

func TestFunctionRejectsInvalidAndPublishesTheRest(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	pub, err := producer.New(producer.Config{Client: client, QueueURL: q.URL})
	require.NoError(t, err)
	encode := func(raw json.RawMessage) (producer.Message, error) {
		var ev struct{ ID string }
		if err := json.Unmarshal(raw, &ev); err != nil || ev.ID == "" {
			return producer.Message{}, errors.New("an event needs an id")
		}
		return producer.Message{Body: string(raw), DedupID: ev.ID}, nil
	}
	fn := producer.Function{Standard: pub, Encode: encode}
	resp, err := fn.Handle(context.Background(), producer.Request{Events: []json.RawMessage{
		json.RawMessage(`{"id":"evt-1"}`),
		json.RawMessage(`{"amount":0}`),
	}})
	require.NoError(t, err)
	require.Equal(t, 1, resp.Sent)
	require.Len(t, resp.Rejected, 1)
	require.Equal(t, 1, resp.Rejected[0].Index)
	require.Contains(t, resp.Rejected[0].Error, "needs an id")
	require.Len(t, awstest.Bodies(awstest.Drain(t, client, q.URL)), 1)

	_, err = fn.Handle(context.Background(), producer.Request{FIFO: true})
	require.Error(t, err, "no FIFO queue configured")
}

// A missing field is a *ConfigError naming it, from New or, for Function,
// from the request that needs it.
func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	requireField := func(t *testing.T, err error, field string) {
		t.Helper()
		require.ErrorIs(t, err, producer.ErrInvalidConfig)
		var cerr *producer.ConfigError
		require.ErrorAs(t, err, &cerr)
		require.Equal(t, field, cerr.Field)
	}
	_, err := producer.New(producer.Config{QueueURL: "https://sqs/q"})
	requireField(t, err, "Config.Client")
	std, err := producer.New(producer.Config{Client: &sqs.Client{}})
	requireField(t, err, "Config.QueueURL")
	require.Nil(t, std)

	std, err = producer.New(producer.Config{Client: &sqs.Client{}, QueueURL: "https://sqs/q"})
	require.NoError(t, err)
	_, err = (&producer.Function{Standard: std}).Handle(context.Background(), producer.Request{})
	requireField(t, err, "Function.Encode")
	fn := producer.Function{Standard: std, Encode: func(json.RawMessage) (producer.Message, error) { return producer.Message{}, nil }}
	_, err = fn.Handle(context.Background(), producer.Request{FIFO: true, Events: []json.RawMessage{[]byte(`{}`)}})
	requireField(t, err, "Function.FIFO")
}

// With Tracing, each message carries its own span's context, as W3C
// traceparent and as the AWSTraceHeader system attribute, and keeps it
// through retries; the caller's attributes are left as they were.
func TestTracingSendsEachMessagesContext(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	sender := &flakySender{Client: client, refuse: func(call int, id string) (string, bool, bool) {
		return "InternalError", false, call == 1 && id == "1" // the second message is sent on the retry
	}}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	p, err := producer.New(producer.Config{Client: sender, QueueURL: q.URL, Backoff: time.Millisecond,
		Tracing: &producer.Tracing{TracerProvider: tp}})
	require.NoError(t, err)
	msgs := []producer.Message{{Body: "a", Attributes: map[string]string{"kind": "x"}}, {Body: "b"}, {Body: "c"}}
	rep, err := p.Send(context.Background(), msgs)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Retried)
	require.Equal(t, map[string]string{"kind": "x"}, msgs[0].Attributes, "the caller's attributes are not modified")

	spans := map[string]sdktrace.ReadOnlySpan{} // by span ID
	byBody := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range sr.Ended() {
		require.Equal(t, trace.SpanKindProducer, s.SpanKind())
		spans[s.SpanContext().SpanID().String()] = s
	}
	require.Len(t, spans, 3)
	got := 0
	for got < 3 {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		require.NoError(t, err)
		for _, m := range out.Messages {
			got++
			tp := aws.ToString(m.MessageAttributes["traceparent"].StringValue)
			parts := strings.Split(tp, "-")
			require.Len(t, parts, 4, tp)
			s, ok := spans[parts[2]]
			require.True(t, ok, "traceparent names a producer span: %s", tp)
			require.Equal(t, s.SpanContext().TraceID().String(), parts[1])
			tid := parts[1]
			require.Equal(t, "Root=1-"+tid[:8]+"-"+tid[8:]+";Parent="+parts[2]+";Sampled=1", m.Attributes["AWSTraceHeader"])
			byBody[aws.ToString(m.Body)] = s
			delete(spans, parts[2])
		}
	}
	require.Empty(t, spans, "each message has its own span")
	require.True(t, byBody["c"].EndTime().Before(byBody["b"].EndTime()), "a span ends when SQS accepts its message")
}
