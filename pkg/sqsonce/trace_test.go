package sqsonce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// recorded is a tracer provider whose ended spans a test reads.
type recorded struct {
	tp *sdktrace.TracerProvider
	sr *tracetest.SpanRecorder
}

func newRecorded() recorded {
	sr := tracetest.NewSpanRecorder()
	return recorded{tp: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr)), sr: sr}
}

// byMessage returns the ended record spans by messaging.message.id, and the
// other spans by name.
func (r recorded) byMessage() (map[string]sdktrace.ReadOnlySpan, map[string][]sdktrace.ReadOnlySpan) {
	recs, others := map[string]sdktrace.ReadOnlySpan{}, map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range r.sr.Ended() {
		if id, ok := attr(s, "messaging.message.id"); ok && s.SpanKind() == trace.SpanKindConsumer {
			recs[id] = s
			continue
		}
		others[s.Name()] = append(others[s.Name()], s)
	}
	return recs, others
}

func attr(s sdktrace.ReadOnlySpan, key string) (string, bool) {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit(), true
		}
	}
	return "", false
}

// producerSpan is the context a producer sent with a message.
func producerSpan(t *testing.T) trace.SpanContext {
	t.Helper()
	tid, err := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	require.NoError(t, err)
	sid, err := trace.SpanIDFromHex("00f067aa0ba902b7")
	require.NoError(t, err)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
}

func withTraceparent(m events.SQSMessage, sc trace.SpanContext) events.SQSMessage {
	v := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	m.MessageAttributes = map[string]events.SQSMessageAttribute{"traceparent": {DataType: "String", StringValue: &v}}
	return m
}

func withAWSTraceHeader(m events.SQSMessage, sc trace.SpanContext) events.SQSMessage {
	tid := sc.TraceID().String()
	m.Attributes = map[string]string{"AWSTraceHeader": "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sc.SpanID().String() + ";Sampled=1"}
	return m
}

// syncBuffer is a log a test reads while handlers write it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	return out
}

// A record's span is the child of its producer's context (W3C traceparent
// or X-Ray's AWSTraceHeader) and links to its invocation; the effect's
// spans are its children; a duplicate's span says it was replayed, a bad
// record's its class; no span carries the key; every log line of a record
// carries its span's trace_id and span_id.
func TestTracingFollowsEachRecordFromItsProducer(t *testing.T) {
	t.Parallel()
	spans := newRecorded()
	var logs syncBuffer
	h, err := sqsonce.New(memstore.New(), byID, func(ctx context.Context, o order) (string, error) {
		_, span := spans.tp.Tracer("effect").Start(ctx, "send mail")
		span.End()
		return "sent " + o.ID, nil
	}, sqsonce.Config{KeyPrefix: "mail", Logger: jsonLogger(&logs), Concurrency: 1,
		Tracing: &sqsonce.Tracing{TracerProvider: spans.tp}})
	require.NoError(t, err)
	producer := producerSpan(t)
	ev := batch(standardARN, rec{msgID: "m1", o: order{"secret-key-1", "x", 1}}, rec{msgID: "m2", o: order{"secret-key-1", "x", 1}},
		rec{msgID: "m3", body: "{"}, rec{msgID: "m4", o: order{"secret-key-4", "x", 1}})
	ev.Records[0] = withTraceparent(ev.Records[0], producer)
	ev.Records[3] = withAWSTraceHeader(ev.Records[3], producer)
	_, err = h.Process(context.Background(), ev)
	require.NoError(t, err)

	recs, others := spans.byMessage()
	require.Len(t, recs, 4)
	require.Len(t, others["sqsonce"], 1, "one invocation span")
	invocation := others["sqsonce"][0]
	require.Equal(t, trace.SpanKindServer, invocation.SpanKind())
	require.Len(t, invocation.Links(), 2, "the invocation links each producer's context")

	m1 := recs["m1"]
	require.Equal(t, "orders process", m1.Name())
	require.Equal(t, producer.TraceID(), m1.SpanContext().TraceID(), "the record continues its producer's trace")
	require.Equal(t, producer.SpanID(), m1.Parent().SpanID())
	require.Equal(t, invocation.SpanContext(), m1.Links()[0].SpanContext, "and links its invocation")
	for k, want := range map[string]string{"messaging.system": "aws_sqs", "messaging.operation.type": "process",
		"sqsonce.outcome": "succeeded", "sqsonce.idempotency": "executed", "sqsonce.key_stored": idempotency.StoredKey("mail", "secret-key-1")} {
		got, _ := attr(m1, k)
		require.Equal(t, want, got, k)
	}
	effectParents := map[trace.SpanID]bool{}
	for _, s := range others["send mail"] {
		effectParents[s.Parent().SpanID()] = true
	}
	require.Equal(t, map[trace.SpanID]bool{m1.SpanContext().SpanID(): true, recs["m4"].SpanContext().SpanID(): true}, effectParents,
		"each effect runs under its record's span")

	require.Equal(t, producer.TraceID(), recs["m4"].SpanContext().TraceID(), "AWSTraceHeader is read as well")
	require.Equal(t, invocation.SpanContext().TraceID(), recs["m2"].SpanContext().TraceID(), "no producer context: a child of the invocation")
	require.Equal(t, invocation.SpanContext().SpanID(), recs["m2"].Parent().SpanID())
	replay, _ := attr(recs["m2"], "sqsonce.idempotency")
	require.Equal(t, "replayed", replay)
	class, _ := attr(recs["m3"], "error.type")
	require.Equal(t, sqsonce.ClassInvalid, class)
	require.Equal(t, codes.Error, recs["m3"].Status().Code)

	for _, s := range spans.sr.Ended() {
		for _, a := range s.Attributes() {
			require.NotContains(t, a.Value.Emit(), "secret-key", "%s %s", s.Name(), a.Key)
		}
	}
	seen := map[string]int{}
	for _, l := range logs.lines(t) {
		id, _ := l["message_id"].(string)
		if id == "" {
			continue
		}
		seen[id]++
		sc := recs[id].SpanContext()
		require.Equal(t, sc.TraceID().String(), l["trace_id"], "%v", l)
		require.Equal(t, sc.SpanID().String(), l["span_id"], "%v", l)
	}
	require.Equal(t, map[string]int{"m1": 2, "m2": 2, "m3": 1, "m4": 2}, seen, "the processor's line of each record, and the handler's of those that ran")
}

func jsonLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// Without Tracing (or without a TracerProvider) nothing is traced and log
// lines have no trace_id.
func TestTracingOffMakesNoSpans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		tracing *sqsonce.Tracing
	}{{"nil", nil}, {"no provider", &sqsonce.Tracing{}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			h, err := sqsonce.New(memstore.New(), byID, func(context.Context, order) (string, error) { return "", nil },
				sqsonce.Config{KeyPrefix: "mail", Logger: jsonLogger(&logs), Tracing: tc.tracing})
			require.NoError(t, err)
			ev := batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}})
			ev.Records[0] = withTraceparent(ev.Records[0], producerSpan(t))
			_, err = h.Process(context.Background(), ev)
			require.NoError(t, err)
			lines := logs.lines(t)
			require.NotEmpty(t, lines)
			for _, l := range lines {
				require.NotContains(t, l, "trace_id")
			}
		})
	}
}

// NewDynamoDB: a wave of one record commits under the record's span (its
// TransactWriteItems is in the producer's trace); a wave of many commits
// under one "sqsonce commit" span of the invocation that links each record,
// and each record links back to it and has its share of the write, a
// "sqsonce commit share" span in its own trace.
func TestTracingDynamoDBTransactions(t *testing.T) {
	t.Parallel()
	spans := newRecorded()
	db := awstest.DynamoDB(t)
	traced := dynamodb.New(db.Options(), func(opts *dynamodb.Options) {
		otelaws.AppendMiddlewares(&opts.APIOptions, otelaws.WithTracerProvider(spans.tp))
	})
	store, err := dynamostore.New(traced, awstest.NewTable(t, db, awstest.IdempotencyTable))
	require.NoError(t, err)
	o := orders{db: db, table: awstest.NewTable(t, db, awstest.LedgerTable), store: store}
	h := o.handler(t, sqsonce.Config{Tracing: &sqsonce.Tracing{TracerProvider: spans.tp}})
	producer := producerSpan(t)

	one := batch(standardARN, rec{msgID: "s1", o: order{"s1", "x", 1}})
	one.Records[0] = withTraceparent(one.Records[0], producer)
	_, err = h.Process(context.Background(), one)
	require.NoError(t, err)
	recs, others := spans.byMessage()
	require.Len(t, others["DynamoDB.TransactWriteItems"], 1)
	tx := others["DynamoDB.TransactWriteItems"][0]
	require.Equal(t, recs["s1"].SpanContext().SpanID(), tx.Parent().SpanID(), "the ledger write is a child of its record")
	require.Equal(t, producer.TraceID(), tx.SpanContext().TraceID(), "in the producer's trace")

	spans.sr.Reset()
	_, err = h.Process(context.Background(), batch(standardARN, rec{msgID: "w1", o: order{"w1", "x", 1}}, rec{msgID: "w2", o: order{"w2", "y", 1}}))
	require.NoError(t, err)
	recs, others = spans.byMessage()
	require.Len(t, others["sqsonce commit"], 1)
	commit := others["sqsonce commit"][0]
	require.Equal(t, others["sqsonce"][0].SpanContext().SpanID(), commit.Parent().SpanID(), "a merged transaction is the invocation's")
	linked := map[trace.SpanID]bool{}
	for _, l := range commit.Links() {
		linked[l.SpanContext.SpanID()] = true
	}
	for _, id := range []string{"w1", "w2"} {
		require.True(t, linked[recs[id].SpanContext().SpanID()], "commit links %s", id)
		back := false
		for _, l := range recs[id].Links() {
			back = back || l.SpanContext.SpanID() == commit.SpanContext().SpanID()
		}
		require.True(t, back, "%s links its commit", id)
	}
	require.Len(t, others["sqsonce commit share"], 2)
	for _, share := range others["sqsonce commit share"] {
		rec := share.Parent().SpanID()
		require.True(t, rec == recs["w1"].SpanContext().SpanID() || rec == recs["w2"].SpanContext().SpanID(), "each record's trace has its share of the write")
		require.Equal(t, commit.SpanContext(), share.Links()[0].SpanContext, "linked to the shared commit")
		require.Equal(t, commit.StartTime(), share.StartTime(), "as long as the shared commit")
		require.Equal(t, commit.EndTime(), share.EndTime())
	}
	for _, s := range others["DynamoDB.TransactWriteItems"] {
		require.Equal(t, commit.SpanContext().SpanID(), s.Parent().SpanID())
	}
}

// Once.Do is a span, "sqsonce once", the child of its context's, with the
// function's work under it: executed, then replayed, then a failure with its
// class; of the key only its stored form.
func TestTracingOnce(t *testing.T) {
	t.Parallel()
	spans := newRecorded()
	once, err := sqsonce.NewOnce[string](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "api", Tracing: &sqsonce.Tracing{TracerProvider: spans.tp}})
	require.NoError(t, err)
	ctx, request := spans.tp.Tracer("t").Start(context.Background(), "request")
	work := func(ctx context.Context) (string, error) {
		_, s := spans.tp.Tracer("t").Start(ctx, "charge")
		s.End()
		return "charged", nil
	}
	for range 2 {
		_, _, err := once.Do(ctx, "order-secret-1", []byte("a"), work)
		require.NoError(t, err)
	}
	_, _, err = once.Do(ctx, "order-secret-1", []byte("b"), work)
	require.ErrorIs(t, err, sqsonce.ErrPayloadMismatch)
	request.End()

	var onces []sdktrace.ReadOnlySpan
	var charge sdktrace.ReadOnlySpan
	for _, s := range spans.sr.Ended() {
		switch s.Name() {
		case "sqsonce once":
			onces = append(onces, s)
		case "charge":
			charge = s
		}
		for _, a := range s.Attributes() {
			require.NotContains(t, a.Value.Emit(), "order-secret-1", "%s: %s", s.Name(), a.Key)
		}
	}
	require.Len(t, onces, 3)
	attr := func(s sdktrace.ReadOnlySpan, key string) string {
		for _, a := range s.Attributes() {
			if string(a.Key) == key {
				return a.Value.Emit()
			}
		}
		return ""
	}
	require.Equal(t, []string{"executed", "replayed", ""}, []string{attr(onces[0], "sqsonce.idempotency"), attr(onces[1], "sqsonce.idempotency"), attr(onces[2], "sqsonce.idempotency")})
	require.Equal(t, sqsonce.ClassPayloadMismatch, attr(onces[2], "error.type"))
	require.Equal(t, idempotency.StoredKey("api", "order-secret-1"), attr(onces[0], "sqsonce.key_stored"))
	for _, s := range onces {
		require.Equal(t, request.SpanContext().SpanID(), s.Parent().SpanID(), "a child of its context's span")
	}
	require.NotNil(t, charge)
	require.Equal(t, onces[0].SpanContext().SpanID(), charge.Parent().SpanID(), "the function's work is under it")
}
