package sqsonce

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// Tracing makes OpenTelemetry spans of a Handler's invocations and records
// (Config.Tracing). Nil, or a nil TracerProvider, makes none and costs
// nothing.
//
// Each invocation is a span of kind SERVER named for the function. Each
// record is a span of kind CONSUMER, "<queue> process", whose parent is the
// producer's context carried by the message (W3C traceparent in the
// message attributes, or the AWSTraceHeader system attribute X-Ray reads),
// and which links to its invocation's span: one event is one trace from
// its producer to its effect, while the invocation's span links every
// producer's context of its batch. A record without a producer's context is
// a child of its invocation. The record's requests (its effect's, and on
// NewDynamoDB its transaction) run under its span; a transaction that
// commits many records (NewDynamoDB waves) runs under one span of kind
// INTERNAL, "sqsonce commit", a child of the invocation linked to each of
// its records, and each record's span links back to it and has its share,
// "sqsonce commit share", a child as long as the commit: one event's trace
// reaches its ledger write.
//
// Spans carry the semantic conventions' messaging and FaaS attributes, the
// record's outcome (sqsonce.outcome), what the idempotency layer did
// (sqsonce.idempotency) and its error class (error.type); of the key only
// its stored form (sqsonce.key_stored: the prefix and a SHA-256), never the
// key or the payload. Log lines of a record (Config.Logger) carry trace_id
// and span_id of its span. Events a NewDynamoDB effect publishes
// (Effect.Publish) carry their record's traceparent, so the consumer they
// reach next continues the trace.
type Tracing struct {
	// TracerProvider makes the spans. Nil makes none.
	TracerProvider trace.TracerProvider
	// Propagator reads the producer's context from a record: it is given
	// the message attributes' String values by name, and the
	// AWSTraceHeader system attribute as "X-Amzn-Trace-Id". Default
	// DefaultPropagator.
	Propagator propagation.TextMapPropagator

	tracer trace.Tracer
	spans  *sync.Map // message ID -> trace.SpanContext of the record being processed, for log lines
}

// TracerName is the instrumentation scope of the spans sqsonce makes.
const TracerName = "github.com/sqsonce/sqsonce/pkg/sqsonce"

// DefaultPropagator reads (and pkg/producer writes) a message's trace
// context: the X-Ray header, then W3C trace context, which wins when a
// message carries both.
func DefaultPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(xray.Propagator{}, propagation.TraceContext{})
}

// withDefaults returns the Tracing a Handler uses: nil when off.
func (t *Tracing) withDefaults() *Tracing {
	if t == nil || t.TracerProvider == nil {
		return nil
	}
	if t.tracer != nil {
		return t
	}
	c := *t
	if c.Propagator == nil {
		c.Propagator = DefaultPropagator()
	}
	c.tracer = c.TracerProvider.Tracer(TracerName)
	c.spans = &sync.Map{}
	return &c
}

// invocationTrace is the spans of one invocation.
type invocationTrace struct {
	span    trace.Span
	mu      sync.Mutex
	records map[string]*recordSpan // by message ID
}

type recordSpan struct {
	span    trace.Span
	settled time.Time // when settle ran; zero if it never did
}

// AWSTraceHeaderKey is the carrier key under which a record's AWSTraceHeader
// system attribute is given to Config.Tracing's propagator (the X-Ray
// propagator's header).
const AWSTraceHeaderKey = "X-Amzn-Trace-Id"

// attrAWSTraceHeader is the system attribute SQS and X-Ray use.
const attrAWSTraceHeader = "AWSTraceHeader"

// messageCarrier reads a record's trace context for a propagator.
type messageCarrier events.SQSMessage

func (c messageCarrier) Get(key string) string {
	if strings.EqualFold(key, AWSTraceHeaderKey) {
		return c.Attributes[attrAWSTraceHeader]
	}
	if a, ok := c.MessageAttributes[key]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	return ""
}

func (messageCarrier) Set(string, string) {}

func (c messageCarrier) Keys() []string {
	keys := make([]string, 0, len(c.MessageAttributes)+1)
	for k := range c.MessageAttributes {
		keys = append(keys, k)
	}
	if _, ok := c.Attributes[attrAWSTraceHeader]; ok {
		keys = append(keys, AWSTraceHeaderKey)
	}
	return keys
}

// producerContext returns the span context the producer of msg sent.
func (t *Tracing) producerContext(msg events.SQSMessage) trace.SpanContext {
	return trace.SpanContextFromContext(t.Propagator.Extract(context.Background(), messageCarrier(msg)))
}

// queueName is the last part of an SQS ARN.
func queueName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// traceInvocation starts the invocation's span and one span per record. It
// returns ctx under the invocation's span.
func (h *Handler[R]) traceInvocation(ctx context.Context, ev events.SQSEvent, inv *invocation) context.Context {
	t := h.cfg.Tracing
	if t == nil {
		return ctx
	}
	name := lambdacontext.FunctionName
	if name == "" {
		name = "sqsonce"
	}
	attrs := []attribute.KeyValue{semconv.FaaSTriggerPubSub, semconv.CloudProviderAWS, semconv.MessagingSystemAWSSQS,
		semconv.MessagingOperationTypeProcess, semconv.MessagingBatchMessageCount(len(ev.Records))}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, semconv.FaaSInvocationID(lc.AwsRequestID), semconv.AWSLambdaInvokedARN(lc.InvokedFunctionArn))
		if parts := strings.Split(lc.InvokedFunctionArn, ":"); len(parts) > 4 {
			attrs = append(attrs, semconv.CloudAccountID(parts[4]))
		}
	}
	producers := make([]trace.SpanContext, len(inv.order))
	links := make([]trace.Link, 0, len(inv.order))
	for i, r := range inv.order {
		producers[i] = t.producerContext(r.msg)
		if producers[i].IsValid() {
			links = append(links, trace.Link{SpanContext: producers[i], Attributes: []attribute.KeyValue{semconv.MessagingMessageID(r.msg.MessageId)}})
		}
	}
	now := time.Now()
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...),
		trace.WithLinks(links...), trace.WithTimestamp(now))
	it := &invocationTrace{span: span, records: make(map[string]*recordSpan, len(inv.order))}
	self := trace.Link{SpanContext: span.SpanContext()}
	for i, r := range inv.order {
		parent := ctx
		if producers[i].IsValid() {
			parent = trace.ContextWithRemoteSpanContext(ctx, producers[i])
		}
		queue := queueName(r.msg.EventSourceARN)
		rattrs := []attribute.KeyValue{semconv.MessagingSystemAWSSQS, semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"), semconv.FaaSTriggerPubSub,
			semconv.MessagingDestinationName(queue), semconv.MessagingMessageID(r.msg.MessageId)}
		if r.key != "" {
			rattrs = append(rattrs, attribute.String("sqsonce.key_stored", idempotency.StoredKey(h.cfg.KeyPrefix, r.key)))
		}
		_, rs := t.tracer.Start(parent, queue+" process", trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(rattrs...), trace.WithLinks(self), trace.WithTimestamp(now))
		it.records[r.msg.MessageId] = &recordSpan{span: rs}
		t.spans.Store(r.msg.MessageId, rs.SpanContext())
	}
	inv.trace = it
	return ctx
}

// recordContext returns ctx under the span of the record msgID, if traced.
func (h *Handler[R]) recordContext(ctx context.Context, inv *invocation, msgID string) context.Context {
	if inv.trace == nil {
		return ctx
	}
	inv.trace.mu.Lock()
	rs := inv.trace.records[msgID]
	inv.trace.mu.Unlock()
	if rs == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, rs.span)
}

// settling notes when the record msg's outcome was settled (its span ends
// then) and returns ctx under its span, for its log line.
func (h *Handler[R]) settling(ctx context.Context, inv *invocation, msg events.SQSMessage) context.Context {
	if inv.trace == nil {
		return ctx
	}
	inv.trace.mu.Lock()
	rs := inv.trace.records[msg.MessageId]
	if rs != nil && rs.settled.IsZero() {
		rs.settled = time.Now()
	}
	inv.trace.mu.Unlock()
	if rs == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, rs.span)
}

// traceWave runs commit, one wave's transaction, under the span of its
// record when it has one, else under a span of its own that links the
// records (and that each record's span links back to). A request has one
// parent, so in a wave of many each record's own trace gets a span of its
// share, "sqsonce commit share": a child of the record's span, as long as
// the shared commit, with the record's result, linked to the shared commit
// and so to its requests. One event's trace thus reaches its ledger write.
func (h *Handler[R]) traceWave(ctx context.Context, inv *invocation, msgs []events.SQSMessage, commit func(context.Context) []error) []error {
	if inv.trace == nil {
		return commit(ctx)
	}
	if len(msgs) == 1 {
		return commit(h.recordContext(ctx, inv, msgs[0].MessageId))
	}
	links := make([]trace.Link, 0, len(msgs))
	inv.trace.mu.Lock()
	for _, m := range msgs {
		if rs := inv.trace.records[m.MessageId]; rs != nil {
			links = append(links, trace.Link{SpanContext: rs.span.SpanContext()})
		}
	}
	inv.trace.mu.Unlock()
	start := time.Now()
	ctx, span := h.cfg.Tracing.tracer.Start(ctx, "sqsonce commit", trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(start),
		trace.WithLinks(links...), trace.WithAttributes(semconv.MessagingBatchMessageCount(len(msgs))))
	back := trace.Link{SpanContext: span.SpanContext()}
	shares := make([]trace.Span, len(msgs))
	inv.trace.mu.Lock()
	for i, m := range msgs {
		if rs := inv.trace.records[m.MessageId]; rs != nil {
			rs.span.AddLink(back)
			_, shares[i] = h.cfg.Tracing.tracer.Start(trace.ContextWithSpan(ctx, rs.span), "sqsonce commit share",
				trace.WithSpanKind(trace.SpanKindInternal), trace.WithLinks(back), trace.WithTimestamp(start),
				trace.WithAttributes(semconv.MessagingBatchMessageCount(len(msgs))))
		}
	}
	inv.trace.mu.Unlock()
	errs := commit(ctx)
	end := time.Now()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
		}
		if i < len(shares) && shares[i] != nil {
			if err != nil {
				shares[i].SetStatus(codes.Error, ClassOf(err))
			}
			shares[i].End(trace.WithTimestamp(end))
		}
	}
	if failed > 0 {
		span.SetAttributes(attribute.Int("sqsonce.failed", failed))
	}
	span.End(trace.WithTimestamp(end))
	return errs
}

// endTrace ends every record's span with what the report says became of
// it, then the invocation's span.
func (h *Handler[R]) endTrace(inv *invocation, report Report[R], err error) {
	it := inv.trace
	if it == nil {
		return
	}
	now := time.Now()
	it.mu.Lock()
	for _, rec := range report.Records {
		rs := it.records[rec.MessageID]
		if rs == nil {
			continue
		}
		attrs := []attribute.KeyValue{attribute.String("sqsonce.outcome", string(rec.Outcome))}
		if rec.Idempotency != "" {
			attrs = append(attrs, attribute.String("sqsonce.idempotency", string(rec.Idempotency)), attribute.Bool("sqsonce.from_cache", rec.FromCache))
		}
		if rec.Class != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(rec.Class))
		}
		rs.span.SetAttributes(attrs...)
		if rec.Outcome != OutcomeSucceeded {
			desc := rec.Class
			if rec.Err != nil {
				desc = rec.Err.Error()
			}
			rs.span.SetStatus(codes.Error, desc)
		}
		end := rs.settled
		if end.IsZero() {
			end = now
		}
		rs.span.End(trace.WithTimestamp(end))
		h.cfg.Tracing.spans.Delete(rec.MessageID)
	}
	it.mu.Unlock()
	c := report.Counts
	it.span.SetAttributes(attribute.Int("sqsonce.executed", c.Executed), attribute.Int("sqsonce.replayed", c.Replayed),
		attribute.Int("sqsonce.reported", c.Reported))
	if err != nil {
		it.span.SetStatus(codes.Error, err.Error())
	}
	it.span.End(trace.WithTimestamp(now))
}
