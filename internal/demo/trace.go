package demo

import (
	"fmt"
	"sort"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/internal/testenv/otlpsink"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// tracing is what lets the demo draw the trace of one event: the consumers
// run with TRACING=otlp and export to an OTLP receiver in process, and the
// producer's spans are recorded in process.
type tracing struct {
	sink *otlpsink.Sink
	tp   *sdktrace.TracerProvider
	rec  *tracetest.SpanRecorder
}

func startTracing() (*tracing, error) {
	sink, err := otlpsink.Start()
	if err != nil {
		return nil, err
	}
	rec := tracetest.NewSpanRecorder()
	return &tracing{sink: sink, rec: rec, tp: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))}, nil
}

func (t *tracing) close() { _ = t.sink.Close() }

// env is the consumers' tracing settings.
func (t *tracing) env() []string {
	return []string{"TRACING=" + telemetry.OTLP, "OTEL_EXPORTER_OTLP_ENDPOINT=" + t.sink.URL(), "OTEL_SERVICE_NAME=consumer"}
}

// producer is the producer's tracing.
func (t *tracing) producer() *producer.Tracing { return &producer.Tracing{TracerProvider: t.tp} }

// oneEvent draws the trace of an event whose effect the consumer executed,
// from its producer's span to its ledger transaction, and names the
// invocation that carried it (a trace of its own, linked). It prefers an
// event committed alone, whose transaction is in its own trace; else the
// first, with the transaction of its wave, which its span links. "" when
// there is none.
func (t *tracing) oneEvent() string {
	received := t.sink.Spans()
	sort.SliceStable(received, func(i, j int) bool { return received[i].Start.Before(received[j].Start) })
	produced := otlpsink.FromSDK(t.rec.Ended()...)
	bySpan := map[string]otlpsink.Span{}
	for _, s := range received {
		bySpan[s.SpanID] = s
	}
	fallback := ""
	for _, rec := range received {
		if rec.Kind != "consumer" || rec.Attrs["sqsonce.idempotency"] != "executed" {
			continue
		}
		var spans []otlpsink.Span
		for _, s := range produced {
			if s.TraceID == rec.TraceID {
				s.Service = "producer"
				spans = append(spans, s)
			}
		}
		if len(spans) == 0 {
			continue // not a trace the producer started
		}
		whole := false // the ledger transaction is in the event's own trace
		for _, s := range received {
			if s.TraceID == rec.TraceID {
				spans = append(spans, s)
				whole = whole || s.Name == "DynamoDB.TransactWriteItems" || s.Name == "sqsonce commit share"
			}
		}
		var b strings.Builder
		b.WriteString(otlpsink.Tree(spans))
		for _, l := range rec.Links {
			linked, ok := bySpan[l.SpanID]
			switch {
			case !ok:
			case linked.Kind == "server":
				fmt.Fprintf(&b, "linked: its invocation %s [%s], %s records, trace %s\n",
					linked.Name, linked.Service, linked.Attrs["messaging.batch.message_count"], linked.TraceID)
			case linked.Name == "sqsonce commit":
				fmt.Fprintf(&b, "linked: the transaction that committed it with the other records of its wave, in the invocation's trace:\n")
				b.WriteString(otlpsink.Tree(subtree(received, linked)))
			}
		}
		if whole {
			return b.String()
		}
		if fallback == "" {
			fallback = b.String()
		}
	}
	return fallback
}

// subtree returns root and every span of spans under it.
func subtree(spans []otlpsink.Span, root otlpsink.Span) []otlpsink.Span {
	out := []otlpsink.Span{root}
	for i := 0; i < len(out); i++ {
		for _, s := range spans {
			if s.ParentID == out[i].SpanID && s.TraceID == root.TraceID {
				out = append(out, s)
			}
		}
	}
	return out
}
