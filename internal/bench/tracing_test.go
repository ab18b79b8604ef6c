package bench_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// cpuTime is the CPU time (user and system) the process has used: a
// message's CPU includes the goroutines and garbage collection it causes,
// while the benchmark's wall time is mostly waiting.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is an exporter that drops what it is given: the cost of making
// the spans, without their encoding.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkTracing is the default consumer's CPU per message (NewDynamoDB on
// a modelled DynamoDB that answers at once, batches of 10 new messages, each
// with a producer's traceparent, logging at INFO to nowhere) with tracing
// off (Config.Tracing nil: what TRACING=off runs), on with the spans
// dropped (their making), and on with the spans exported over OTLP/HTTP
// (JSON, telemetry.JSONExporter) at the end of each invocation (what
// TRACING=otlp runs) to an in-process receiver that drops them.
func BenchmarkTracing(b *testing.B) {
	const batch = 10
	// The receiver reads each request and drops it: the figure is what the
	// function pays, not a collector's decoding.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("{}"))
	}))
	defer sink.Close()
	for _, tc := range []struct {
		name string
		exp  func() (sdktrace.SpanExporter, error)
	}{
		{"off", nil},
		{"on-dropped", func() (sdktrace.SpanExporter, error) { return discard{}, nil }},
		{"on-otlp", func() (sdktrace.SpanExporter, error) {
			return telemetry.NewJSONExporter(func(k string) string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": sink.URL}[k]
			})
		}},
	} {
		b.Run(fmt.Sprintf("batch=%d/%s", batch, tc.name), func(b *testing.B) {
			ctx := context.Background()
			var tr *telemetry.Tracing
			if tc.exp != nil {
				exp, err := tc.exp()
				if err != nil {
					b.Fatal(err)
				}
				if tr, err = telemetry.NewWithExporter(ctx, telemetry.OTLP, "bench", exp); err != nil {
					b.Fatal(err)
				}
			}
			db := &bench.ModelDB{}
			store, err := dynamostore.New(db, "idempotency")
			if err != nil {
				b.Fatal(err)
			}
			h, err := sqsonce.NewDynamoDB(store, ledger.Message(sqskey.Source{Kind: sqskey.BodyField}),
				func(_ context.Context, e ledger.Event) (sqsonce.Effect[ledger.Receipt], error) {
					return ledger.Apply("ledger", e), nil
				},
				sqsonce.Config{KeyPrefix: consumer.KeyPrefixDefault, CacheSize: -1, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
					Tracing: tr.Library()})
			if err != nil {
				b.Fatal(err)
			}
			traceparent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			n := 0
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				ev := events.SQSEvent{Records: make([]events.SQSMessage, batch)}
				for i := range ev.Records {
					n++
					ev.Records[i] = events.SQSMessage{
						MessageId:      fmt.Sprintf("m-%d", n),
						EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:events",
						Body: fmt.Sprintf(`{"id":"evt-%d","account":"acc-%d","amount":250,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`,
							n, n%10),
						MessageAttributes: map[string]events.SQSMessageAttribute{"traceparent": {DataType: "String", StringValue: &traceparent}},
					}
				}
				resp, err := h.Handle(ctx, ev)
				if err != nil || len(resp.BatchItemFailures) > 0 {
					b.Fatal(err, resp)
				}
				if tr != nil {
					tr.Flush(ctx)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(n), "cpu-ns/msg")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/msg")
		})
	}
}
