package telemetry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
)

func TestParseMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": telemetry.Off, "off": telemetry.Off, "OTLP": telemetry.OTLP} {
		got, err := telemetry.ParseMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := telemetry.ParseMode("xray")
	require.Error(t, err)
}

// Off is nil, and a nil Tracing wires nothing.
func TestOffIsNil(t *testing.T) {
	t.Parallel()
	tr, err := telemetry.New(context.Background(), telemetry.Off, "fn", nil)
	require.NoError(t, err)
	require.Nil(t, tr)
	require.Nil(t, tr.Library())
	require.Nil(t, tr.Producer())
	h := lambda.NewHandler(func() error { return nil })
	require.Equal(t, h, tr.Wrap(h))
}

// An invocation continues Lambda's trace (its X-Ray header) and its spans
// are exported before it returns.
func TestWrapContinuesLambdasTraceAndExportsBeforeReturning(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewWithExporter(context.Background(), telemetry.OTLP, "fn", exp)
	require.NoError(t, err)
	h := tr.Wrap(lambda.NewHandler(func(ctx context.Context) error {
		_, span := tr.Provider.Tracer("t").Start(ctx, "work")
		span.End()
		require.Empty(t, exp.GetSpans(), "nothing is exported while the invocation runs")
		return nil
	}))
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", //nolint:staticcheck // aws-lambda-go's own key
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	_, err = h.Invoke(ctx, []byte(`{}`))
	require.NoError(t, err)
	spans := exp.GetSpans()
	require.Len(t, spans, 1, "exported when Invoke returned")
	require.Equal(t, "5759e988bd862e3fe1be46a994272793", spans[0].SpanContext.TraceID().String())
	require.Equal(t, "53995c3f42cd8ad8", spans[0].Parent.SpanID().String())
}

// hangingExporter never answers until its context ends.
type hangingExporter struct{ calls int }

func (h *hangingExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	h.calls++
	<-ctx.Done()
	return ctx.Err()
}
func (*hangingExporter) Shutdown(context.Context) error { return nil }

// A collector that does not answer costs an invocation at most the export
// timeout, or half the time it has left, and never its result.
func TestFlushIsBoundedByTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		exp := &hangingExporter{}
		tr, err := telemetry.NewWithExporter(context.Background(), telemetry.OTLP, "fn", exp)
		require.NoError(t, err)
		h := tr.Wrap(lambda.NewHandler(func(ctx context.Context) (string, error) {
			_, span := tr.Provider.Tracer("t").Start(ctx, "work", trace.WithNewRoot())
			span.End()
			return "done", nil
		}))
		for _, tc := range []struct {
			left, want time.Duration
		}{{time.Minute, telemetry.ExportTimeoutDefault}, {time.Second, 500 * time.Millisecond}} {
			ctx, cancel := context.WithTimeout(context.Background(), tc.left)
			start := time.Now()
			out, err := h.Invoke(ctx, []byte(`{}`))
			cancel()
			require.NoError(t, err)
			require.Equal(t, `"done"`, string(out))
			require.Equal(t, tc.want, time.Since(start), "with %s left", tc.left)
		}
		require.Equal(t, 2, exp.calls)
	})
}

// Valkey/Redis commands are spans under the span in their context, named
// for the command, without its arguments (stored keys, tokens, results).
func TestInstrumentRedisTracesCommandsWithoutArguments(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewWithExporter(context.Background(), telemetry.OTLP, "fn", exp)
	require.NoError(t, err)
	client := redistest.Start(t).Client()
	require.NoError(t, tr.InstrumentRedis(client))
	ctx, record := tr.Provider.Tracer("t").Start(context.Background(), "record")
	require.NoError(t, client.Set(ctx, "payments#secret-key", "owner-token", 0).Err())
	record.End()
	require.NoError(t, tr.Provider.ForceFlush(context.Background()))
	var set *tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "set" {
			set = &s
		}
		for _, a := range s.Attributes {
			require.NotContains(t, a.Value.Emit(), "secret-key", "%s: %s", s.Name, a.Key)
			require.NotContains(t, a.Value.Emit(), "owner-token", "%s: %s", s.Name, a.Key)
		}
	}
	require.NotNil(t, set, "the command is a span")
	require.Equal(t, record.SpanContext().SpanID(), set.Parent.SpanID(), "under the span of its context")
	require.Nil(t, (*telemetry.Tracing)(nil).InstrumentRedis(client), "off instruments nothing")
}
