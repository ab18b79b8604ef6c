package telemetry_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/internal/telemetry"
)

func TestJSONExporterEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		url  string
	}{
		{"default: the ADOT layer's collector", nil, "http://localhost:4318/v1/traces"},
		{"base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/"}, "https://collector:4318/v1/traces"},
		{"traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b/x"}, "http://b/x"},
	} {
		e, err := telemetry.NewJSONExporter(func(k string) string { return tc.env[k] })
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.url, e.URL, tc.name)
	}
	_, err := telemetry.NewJSONExporter(func(k string) string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}[k] })
	require.Error(t, err, "not a URL")
}

// The request is OTLP/HTTP JSON as the protocol defines it: IDs in hex,
// kinds and status codes as OTLP's numbers, 64-bit integers as strings,
// the headers of OTEL_EXPORTER_OTLP_HEADERS.
func TestJSONExporterSendsOTLPJSON(t *testing.T) {
	t.Parallel()
	var body map[string]any
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &body))
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	exp, err := telemetry.NewJSONExporter(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=a%20b"}[k]
	})
	require.NoError(t, err)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("scope").Start(context.Background(), "parent")
	_, span := tp.Tracer("scope").Start(ctx, "child", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.Int("n", 7), attribute.Bool("b", true), attribute.String("s", "v")))
	span.SetStatus(codes.Error, "broken")
	span.End()
	parent.End()
	require.NoError(t, exp.ExportSpans(context.Background(), rec.Ended()[:1]))
	require.Equal(t, "application/json", header.Get("Content-Type"))
	require.Equal(t, "a b", header.Get("x-api-key"))

	scope := body["resourceSpans"].([]any)[0].(map[string]any)["scopeSpans"].([]any)[0].(map[string]any)
	require.Equal(t, "scope", scope["scope"].(map[string]any)["name"])
	got := scope["spans"].([]any)[0].(map[string]any)
	sc := span.SpanContext()
	require.Equal(t, sc.TraceID().String(), got["traceId"])
	require.Equal(t, sc.SpanID().String(), got["spanId"])
	require.Equal(t, parent.SpanContext().SpanID().String(), got["parentSpanId"])
	require.Equal(t, "child", got["name"])
	require.EqualValues(t, 5, got["kind"], "SPAN_KIND_CONSUMER")
	require.Equal(t, map[string]any{"code": float64(2), "message": "broken"}, got["status"], "STATUS_CODE_ERROR")
	require.IsType(t, "", got["startTimeUnixNano"])
	require.ElementsMatch(t, []any{
		map[string]any{"key": "n", "value": map[string]any{"intValue": "7"}},
		map[string]any{"key": "b", "value": map[string]any{"boolValue": true}},
		map[string]any{"key": "s", "value": map[string]any{"stringValue": "v"}},
	}, got["attributes"])
}
