package producer

import (
	"context"
	"maps"
	"strings"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing makes a span of kind PRODUCER per message sent (Config.Tracing)
// and sends its context with the message, so that the consumer's span of the
// message continues the trace: as W3C trace context in the message
// attributes (traceparent, and tracestate when there is one) and as the
// AWSTraceHeader system attribute X-Ray reads (Message.TraceHeader). A
// message keeps the context of its first offer through every retry.
type Tracing struct {
	// TracerProvider makes the spans. Nil makes none.
	TracerProvider trace.TracerProvider
	// Propagator writes a message's context; the value it writes under
	// "X-Amzn-Trace-Id" becomes the AWSTraceHeader system attribute, every
	// other one a String message attribute. Default: X-Ray and W3C trace
	// context, as sqsonce.DefaultPropagator reads them.
	Propagator propagation.TextMapPropagator
}

// TracerName is the instrumentation scope of the producer's spans.
const TracerName = "github.com/sqsonce/sqsonce/pkg/producer"

// xrayHeader is the carrier key of the X-Ray propagator.
const xrayHeader = "X-Amzn-Trace-Id"

// traced returns msgs, each with its span's context, and the spans (nil
// without tracing). msgs itself is not modified.
func (p *Publisher) traced(ctx context.Context, msgs []Message) ([]Message, []trace.Span) {
	t := p.cfg.Tracing
	if t == nil || t.TracerProvider == nil {
		return msgs, nil
	}
	prop := t.Propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(xray.Propagator{}, propagation.TraceContext{})
	}
	tracer := t.TracerProvider.Tracer(TracerName)
	queue := p.cfg.QueueURL[strings.LastIndexByte(p.cfg.QueueURL, '/')+1:]
	out := make([]Message, len(msgs))
	spans := make([]trace.Span, len(msgs))
	for i, m := range msgs {
		sctx, span := tracer.Start(ctx, queue+" send", trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(semconv.MessagingSystemAWSSQS, semconv.MessagingOperationTypeSend,
				semconv.MessagingOperationName("send"), semconv.MessagingDestinationName(queue)))
		carrier := propagation.MapCarrier{}
		prop.Inject(sctx, carrier)
		m.Attributes = maps.Clone(m.Attributes)
		for k, v := range carrier {
			if strings.EqualFold(k, xrayHeader) {
				m.TraceHeader = v
				continue
			}
			if m.Attributes == nil {
				m.Attributes = map[string]string{}
			}
			m.Attributes[k] = v
		}
		out[i], spans[i] = m, span
	}
	return out, spans
}

// endSent ends the spans of a chunk's messages SQS accepted.
func endSent(spans []trace.Span, chunk []int, refused []Failure) {
	if spans == nil {
		return
	}
	out := make(map[int]bool, len(refused))
	for _, f := range refused {
		out[f.Index] = true
	}
	for _, i := range chunk {
		if !out[i] {
			spans[i].End()
		}
	}
}

// endSpans ends the messages' spans not ended yet, failed ones with an
// error status.
func endSpans(spans []trace.Span, rep Report) {
	if spans == nil {
		return
	}
	for _, f := range rep.Failures {
		spans[f.Index].SetAttributes(semconv.ErrorTypeKey.String(f.Code))
		spans[f.Index].SetStatus(codes.Error, f.Message)
	}
	for _, s := range spans {
		s.End()
	}
}
