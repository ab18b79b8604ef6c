package telemetry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/internal/testenv/faultproxy"
	"github.com/sqsonce/sqsonce/internal/testenv/otlpsink"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

func TestMain(m *testing.M) {
	code := m.Run()
	bootstraps.Cleanup()
	os.Exit(code)
}

// logRecords returns the function's JSON log lines that name a message.
func logRecords(out *rie.Buffer) []map[string]any {
	var lines []map[string]any
	for _, line := range strings.Split(out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message_id"] != nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// wire is the real consumer under the emulator, exporting its spans to a
// sink, with its DynamoDB behind a fault proxy, and a producer in process
// whose spans are recorded.
type wire struct {
	sink     *otlpsink.Sink
	proxy    *faultproxy.Proxy
	emulator *rie.Emulator
	logs     *rie.Buffer
	queue    awstest.Queue
	sqs      *sqs.Client
	pub      *producer.Publisher
	tp       *sdktrace.TracerProvider
	recorder *tracetest.SpanRecorder
}

func newWire(t *testing.T) *wire {
	t.Helper()
	w := &wire{logs: &rie.Buffer{}}
	var err error
	w.sink, err = otlpsink.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.sink.Close() })
	db := awstest.DynamoDB(t)
	idem, ledger := awstest.NewTable(t, db, awstest.IdempotencyTable), awstest.NewTable(t, db, awstest.LedgerTable)
	w.sqs = awstest.SQS(t)
	w.queue = awstest.NewQueue(t, w.sqs, awstest.QueueSpec{VisibilityTimeout: 5})
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	u, err := url.Parse(endpoint)
	require.NoError(t, err)
	require.NotEmpty(t, u.Host, "run under scripts/with-local-aws.sh: the test puts a proxy in front of DynamoDB")
	w.proxy, err = faultproxy.Start(u.Host)
	require.NoError(t, err)
	t.Cleanup(w.proxy.Close)
	w.emulator, err = rie.Start(context.Background(), rie.Config{
		Bootstrap:       bootstraps.Path(t, bootstraps.Consumer),
		FunctionTimeout: 30 * time.Second,
		Output:          w.logs,
		Env: append(os.Environ(), "IDEMPOTENCY_TABLE="+idem, "LEDGER_TABLE="+ledger, "LOG_LEVEL=INFO",
			"AWS_ENDPOINT_URL_DYNAMODB="+w.proxy.URL(), "AWS_MAX_ATTEMPTS=2", "AWS_RETRY_MODE=standard",
			"TRACING=otlp", "OTEL_EXPORTER_OTLP_ENDPOINT="+w.sink.URL(), "OTEL_SERVICE_NAME=consumer"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.emulator.Stop() })

	w.recorder = tracetest.NewSpanRecorder()
	w.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(w.recorder),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("producer"))))
	traced := sqs.New(w.sqs.Options(), func(o *sqs.Options) {
		otelaws.AppendMiddlewares(&o.APIOptions, otelaws.WithTracerProvider(w.tp))
	})
	w.pub, err = producer.New(producer.Config{Client: traced, QueueURL: w.queue.URL, Tracing: &producer.Tracing{TracerProvider: w.tp}})
	require.NoError(t, err)
	return w
}

// send publishes one event under a span of its own and returns its trace ID.
func (w *wire) send(t *testing.T, id string) string {
	t.Helper()
	ctx, span := w.tp.Tracer("test").Start(context.Background(), "publish "+id)
	body := fmt.Sprintf(`{"id":%q,"account":"acc-1","amount":1250,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, id)
	_, err := w.pub.Send(ctx, []producer.Message{{Body: body}})
	span.End()
	require.NoError(t, err)
	return span.SpanContext().TraceID().String()
}

// drain feeds the consumer from the queue until it is empty.
func (w *wire) drain(t *testing.T) {
	t.Helper()
	m, err := esm.New(esm.Config{QueueURL: w.queue.URL, Client: w.sqs, Invokers: []esm.Invoker{w.emulator},
		MaximumBatchingWindow: 100 * time.Millisecond, WaitTimeSeconds: 1})
	require.NoError(t, err)
	require.NoError(t, m.RunUntilDrained(context.Background(), 200*time.Millisecond))
}

// trace returns the spans of one trace: the producer's and the consumer's.
func (w *wire) trace(traceID string) []otlpsink.Span {
	var spans []otlpsink.Span
	for _, s := range otlpsink.FromSDK(w.recorder.Ended()...) {
		if s.TraceID == traceID {
			spans = append(spans, s)
		}
	}
	return append(spans, w.sink.Trace(traceID)...)
}

// one returns the only span of spans that match, failing otherwise.
func one(t *testing.T, spans []otlpsink.Span, what string, match func(otlpsink.Span) bool) otlpsink.Span {
	t.Helper()
	var found []otlpsink.Span
	for _, s := range spans {
		if match(s) {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "%s in\n%s", what, otlpsink.Tree(spans))
	return found[0]
}

// One event sent by the producer is one trace, from the producer's span
// through the queue to the consumer's record span and its ledger
// transaction, exported before the invocation returned; the invocation's
// span links it; the record's log lines carry its trace_id and span_id. A
// duplicate's trace says it was replayed; during a store outage the trace
// shows the failed transaction under its record.
func TestOneEventIsOneTraceOnTheWire(t *testing.T) {
	t.Parallel()
	w := newWire(t)
	queue := w.queue.URL[strings.LastIndex(w.queue.URL, "/")+1:]

	first := w.send(t, "evt-trace-1")
	w.drain(t)
	// No wait: the spans were exported before the invocation returned.
	spans := w.trace(first)
	t.Logf("the trace of one event:\n%s", otlpsink.Tree(spans))
	send := one(t, spans, "the producer's span", func(s otlpsink.Span) bool { return s.Kind == "producer" })
	one(t, spans, "the send request", func(s otlpsink.Span) bool { return s.Name == "SQS.SendMessageBatch" && s.Service == "producer" })
	record := one(t, spans, "the record's span", func(s otlpsink.Span) bool { return s.Kind == "consumer" })
	require.Equal(t, queue+" process", record.Name)
	require.Equal(t, "consumer", record.Service)
	require.Equal(t, send.SpanID, record.ParentID, "the record continues the producer's span")
	require.Equal(t, "executed", record.Attrs["sqsonce.idempotency"])
	require.Equal(t, "aws_sqs", record.Attrs["messaging.system"])
	require.NotEmpty(t, record.Attrs["messaging.message.id"])
	tx := one(t, spans, "the ledger transaction", func(s otlpsink.Span) bool { return s.Name == "DynamoDB.TransactWriteItems" })
	require.Equal(t, record.SpanID, tx.ParentID, "the ledger write is the record's")
	require.False(t, tx.Error)
	require.Len(t, record.Links, 1)
	invocation := one(t, w.sink.Spans(), "the invocation", func(s otlpsink.Span) bool { return s.SpanID == record.Links[0].SpanID })
	require.Equal(t, "server", invocation.Kind)
	require.Contains(t, invocation.Links, otlpsink.Link{TraceID: first, SpanID: send.SpanID}, "the invocation links the producer")
	lines := 0
	for _, l := range logRecords(w.logs) {
		if l["message_id"] == record.Attrs["messaging.message.id"] {
			lines++
			require.Equal(t, first, l["trace_id"], "%v", l)
			require.Equal(t, record.SpanID, l["span_id"], "%v", l)
		}
	}
	require.Equal(t, 2, lines, "the processor's line and the handler's carry the record's span")

	// A producer retry: the same event in a new message, replayed.
	again := w.send(t, "evt-trace-1")
	w.drain(t)
	spans = w.trace(again)
	replay := one(t, spans, "the duplicate's span", func(s otlpsink.Span) bool { return s.Kind == "consumer" })
	require.Equal(t, "replayed", replay.Attrs["sqsonce.idempotency"])
	require.Equal(t, "succeeded", replay.Attrs["sqsonce.outcome"])

	// A store outage: the record's transaction fails under its span.
	w.proxy.Cut()
	cut := w.send(t, "evt-trace-2")
	w.invokeOnce(t)
	require.NoError(t, w.proxy.Restore())
	spans = w.trace(cut)
	t.Logf("the trace of an event met by a store outage:\n%s", otlpsink.Tree(spans))
	failed := one(t, spans, "the failed record's span", func(s otlpsink.Span) bool { return s.Kind == "consumer" })
	require.True(t, failed.Error)
	require.Equal(t, "store-failed", failed.Attrs["error.type"])
	require.Equal(t, "failed", failed.Attrs["sqsonce.outcome"])
	var attempts int
	for _, s := range spans {
		if s.Name == "DynamoDB.TransactWriteItems" {
			attempts++
			require.Equal(t, failed.SpanID, s.ParentID)
			require.True(t, s.Error, "the failed transaction")
		}
	}
	require.Positive(t, attempts)
}

// invokeOnce receives what the queue holds and invokes the consumer once
// with it, as Lambda's event source mapping would, without deleting it.
func (w *wire) invokeOnce(t *testing.T) {
	t.Helper()
	// A receive of the last drain may still hold the message: it comes back
	// after the queue's visibility timeout (5 s).
	var out *sqs.ReceiveMessageOutput
	for range 4 {
		var err error
		out, err = w.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queue.URL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 3, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		require.NoError(t, err)
		if len(out.Messages) > 0 {
			break
		}
	}
	require.NotEmpty(t, out.Messages)
	var ev events.SQSEvent
	for _, m := range out.Messages {
		rec := events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSourceARN: w.queue.ARN, EventSource: "aws:sqs",
			MessageAttributes: map[string]events.SQSMessageAttribute{}}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
		}
		ev.Records = append(ev.Records, rec)
	}
	payload, err := json.Marshal(ev)
	require.NoError(t, err)
	resp, err := w.emulator.Invoke(context.Background(), payload)
	require.NoError(t, err)
	var r events.SQSEventResponse
	require.NoError(t, json.Unmarshal(resp, &r))
	require.Len(t, r.BatchItemFailures, len(ev.Records), "the outage fails every record")
}
