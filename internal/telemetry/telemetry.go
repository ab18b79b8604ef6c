// Package telemetry sets OpenTelemetry tracing up for this repository's
// Lambda functions (functions/consumer, functions/producer) from their
// environment: a tracer provider whose spans are exported over OTLP/HTTP at
// the end of each invocation, before it returns, so that no goroutine of the
// SDK runs while Lambda freezes the environment; AWS SDK clients that trace
// their requests (otelaws); and a handler that continues the trace Lambda
// starts (its X-Ray header). With TRACING off it returns nil, and everything
// it wires is the library's no-op: no span, no cost.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"github.com/sqsonce/sqsonce/pkg/producer"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// The values of TRACING.
const (
	Off  = "off"  // no spans (the default): the library's tracing costs nothing
	OTLP = "otlp" // spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT (a collector, or the ADOT Lambda layer's)
)

// ParseMode reads TRACING: "" is Off.
func ParseMode(v string) (string, error) {
	switch m := strings.ToLower(v); m {
	case "":
		return Off, nil
	case Off, OTLP:
		return m, nil
	}
	return "", fmt.Errorf("%q is not off or otlp", v)
}

// ExportTimeoutDefault bounds the export of an invocation's spans,
// which runs before the invocation returns; it never takes more than half
// of the time the invocation has left.
const ExportTimeoutDefault = 2 * time.Second

// maxBufferedSpans bounds the spans kept between two flushes; past it they
// are exported at once.
const maxBufferedSpans = 2048

// Tracing is a function's OpenTelemetry set-up: a tracer provider whose
// spans are exported at the end of each invocation, before it returns (no
// goroutine of the SDK runs between invocations, when Lambda freezes the
// environment).
type Tracing struct {
	Provider   *sdktrace.TracerProvider
	Propagator propagation.TextMapPropagator
	flush      *flushProcessor
	timeout    time.Duration
	log        *slog.Logger
}

// New sets tracing up for mode (ParseMode), its spans exported by a
// JSONExporter configured from getenv (os.Getenv in main: the
// OTEL_EXPORTER_OTLP_* variables). It returns nil when mode is Off. The
// resource's service is OTEL_SERVICE_NAME, else function
// (AWS_LAMBDA_FUNCTION_NAME).
func New(ctx context.Context, mode, function string, getenv func(string) string) (*Tracing, error) {
	if mode != OTLP {
		return nil, nil
	}
	exp, err := NewJSONExporter(getenv)
	if err != nil {
		return nil, fmt.Errorf("telemetry: TRACING=otlp: %w", err)
	}
	return NewWithExporter(ctx, mode, function, exp)
}

// NewWithExporter is New with spans exported by exp.
func NewWithExporter(_ context.Context, mode, function string, exp sdktrace.SpanExporter) (*Tracing, error) {
	if mode != OTLP {
		return nil, nil
	}
	attrs := []attribute.KeyValue{semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda}
	if function != "" {
		attrs = append(attrs, semconv.FaaSName(function), semconv.ServiceName(function))
	}
	res, err := resource.Merge(resource.NewSchemaless(attrs...), resource.Default())
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	fp := &flushProcessor{exp: exp}
	return &Tracing{
		Provider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(fp), sdktrace.WithResource(res),
			sdktrace.WithIDGenerator(xray.NewIDGenerator())),
		Propagator: sqsonce.DefaultPropagator(),
		flush:      fp,
		timeout:    ExportTimeoutDefault,
		log:        slog.Default(),
	}, nil
}

// Library returns the sqsonce.Tracing of t; nil when t is.
func (t *Tracing) Library() *sqsonce.Tracing {
	if t == nil {
		return nil
	}
	return &sqsonce.Tracing{TracerProvider: t.Provider, Propagator: t.Propagator}
}

// Producer returns the producer.Tracing of t; nil when t is.
func (t *Tracing) Producer() *producer.Tracing {
	if t == nil {
		return nil
	}
	return &producer.Tracing{TracerProvider: t.Provider, Propagator: t.Propagator}
}

// Instrument makes every client built from awsCfg trace its requests as
// children of the span in their context.
func (t *Tracing) Instrument(awsCfg *aws.Config) {
	if t == nil {
		return
	}
	otelaws.AppendMiddlewares(&awsCfg.APIOptions, otelaws.WithTracerProvider(t.Provider), otelaws.WithTextMapPropagator(t.Propagator))
}

// InstrumentRedis makes client trace its commands (redisotel) as children of
// the span in their context: a record's claim and completion on
// Valkey/Redis, under its span. A span names its command, never its
// arguments, so stored keys, owner tokens and results stay out of traces.
func (t *Tracing) InstrumentRedis(client redis.UniversalClient) error {
	if t == nil {
		return nil
	}
	return redisotel.InstrumentTracing(client, redisotel.WithTracerProvider(t.Provider),
		redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false))
}

// Wrap returns h, whose invocations continue the trace Lambda gives them
// (its X-Ray header, with active tracing) and export their spans before
// they return. It returns h itself when t is nil.
func (t *Tracing) Wrap(h lambda.Handler) lambda.Handler {
	if t == nil {
		return h
	}
	return tracedHandler{h: h, t: t}
}

type tracedHandler struct {
	h lambda.Handler
	t *Tracing
}

// lambdaTraceKey is where aws-lambda-go puts the invocation's X-Ray header
// (Lambda-Runtime-Trace-Id) in its context.
const lambdaTraceKey = "x-amzn-trace-id"

func (w tracedHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if header, ok := ctx.Value(lambdaTraceKey).(string); ok && header != "" {
		ctx = xray.Propagator{}.Extract(ctx, propagation.MapCarrier{"X-Amzn-Trace-Id": header})
	}
	out, err := w.h.Invoke(ctx, payload)
	w.t.Flush(ctx)
	return out, err
}

// Flush exports the spans ended so far, within the export timeout and half
// the time ctx has left; a failure is logged, never the invocation's.
func (t *Tracing) Flush(ctx context.Context) {
	timeout := t.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl)/2 < timeout {
		timeout = time.Until(dl) / 2
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := t.Provider.ForceFlush(fctx); err != nil {
		t.log.WarnContext(ctx, "telemetry: spans not exported", "error", err.Error())
	}
}

// flushProcessor keeps ended spans until ForceFlush exports them in one
// request, in the caller's goroutine: unlike the SDK's batch processor it
// runs nothing between invocations.
type flushProcessor struct {
	exp sdktrace.SpanExporter

	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (p *flushProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (p *flushProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	p.mu.Lock()
	p.spans = append(p.spans, s)
	full := len(p.spans) >= maxBufferedSpans
	p.mu.Unlock()
	if full {
		ctx, cancel := context.WithTimeout(context.Background(), ExportTimeoutDefault)
		defer cancel()
		_ = p.ForceFlush(ctx)
	}
}

func (p *flushProcessor) ForceFlush(ctx context.Context) error {
	p.mu.Lock()
	spans := p.spans
	p.spans = nil
	p.mu.Unlock()
	if len(spans) == 0 {
		return nil
	}
	if err := p.exp.ExportSpans(ctx, spans); err != nil {
		return fmt.Errorf("export %d spans: %w", len(spans), err)
	}
	return nil
}

func (p *flushProcessor) Shutdown(ctx context.Context) error {
	if err := p.ForceFlush(ctx); err != nil {
		return err
	}
	return p.exp.Shutdown(ctx)
}
