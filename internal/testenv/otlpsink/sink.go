// Package otlpsink is an OTLP/HTTP trace receiver in process: the spans a
// function under the emulator exports (TRACING=otlp with
// OTEL_EXPORTER_OTLP_ENDPOINT set to the sink's URL) are kept for a test to
// read, or for the demo to print as a tree. It takes the JSON encoding on
// 127.0.0.1 (what telemetry.JSONExporter sends), uncompressed or gzipped.
package otlpsink

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sqsonce/sqsonce/internal/telemetry"
)

// Span is one span received, its IDs in hex.
type Span struct {
	Name     string
	Service  string // the resource's service.name
	Kind     string // server, client, producer, consumer, internal
	TraceID  string
	SpanID   string
	ParentID string // "" for a root
	Attrs    map[string]string
	Links    []Link
	Error    bool   // status Error
	Status   string // the status message
	Start    time.Time
	End      time.Time
}

// Link is a span's link to another span.
type Link struct {
	TraceID string
	SpanID  string
}

// Sink receives spans over OTLP/HTTP.
type Sink struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	spans []Span
}

// Start serves a sink on a free port of 127.0.0.1.
func Start() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("otlpsink: %w", err)
	}
	s := &Sink{url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.receive)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the endpoint to give OTEL_EXPORTER_OTLP_ENDPOINT.
func (s *Sink) URL() string { return s.url }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) receive(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "otlpsink takes OTLP/HTTP JSON, not "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	var req telemetry.Request
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range req.ResourceSpans {
		service := attrs(rs.Resource.Attributes)["service.name"]
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				got = append(got, fromJSON(sp, service))
			}
		}
	}
	s.Add(got...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

// Add keeps spans received otherwise (an in-process producer's).
func (s *Sink) Add(spans ...Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = append(s.spans, spans...)
}

// Spans returns every span received so far.
func (s *Sink) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Span(nil), s.spans...)
}

// Trace returns the spans of one trace, in the order they arrived.
func (s *Sink) Trace(traceID string) []Span {
	var out []Span
	for _, sp := range s.Spans() {
		if sp.TraceID == traceID {
			out = append(out, sp)
		}
	}
	return out
}

func fromJSON(sp telemetry.Span, service string) Span {
	out := Span{
		Name:     sp.Name,
		Service:  service,
		Kind:     kinds[sp.Kind],
		TraceID:  sp.TraceID,
		SpanID:   sp.SpanID,
		ParentID: sp.ParentSpanID,
		Attrs:    attrs(sp.Attributes),
		Error:    sp.Status.Code == 2,
		Status:   sp.Status.Message,
		Start:    unixNano(sp.StartTimeUnixNano),
		End:      unixNano(sp.EndTimeUnixNano),
	}
	for _, l := range sp.Links {
		out.Links = append(out.Links, Link{TraceID: l.TraceID, SpanID: l.SpanID})
	}
	return out
}

// kinds are OTLP's span kinds by number.
var kinds = map[int]string{0: "internal", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}

func unixNano(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(0, n)
}

func attrs(kvs []telemetry.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

// FromSDK converts spans an in-process SDK ended (a tracetest.SpanRecorder's).
func FromSDK(spans ...sdktrace.ReadOnlySpan) []Span {
	out := make([]Span, 0, len(spans))
	for _, s := range spans {
		sp := Span{
			Name:    s.Name(),
			Kind:    s.SpanKind().String(),
			TraceID: s.SpanContext().TraceID().String(),
			SpanID:  s.SpanContext().SpanID().String(),
			Attrs:   map[string]string{},
			Start:   s.StartTime(),
			End:     s.EndTime(),
		}
		if s.Parent().IsValid() {
			sp.ParentID = s.Parent().SpanID().String()
		}
		for _, a := range s.Attributes() {
			sp.Attrs[string(a.Key)] = a.Value.Emit()
		}
		for _, a := range s.Resource().Attributes() {
			if a.Key == "service.name" {
				sp.Service = a.Value.Emit()
			}
		}
		for _, l := range s.Links() {
			sp.Links = append(sp.Links, Link{TraceID: l.SpanContext.TraceID().String(), SpanID: l.SpanContext.SpanID().String()})
		}
		sp.Error = s.Status().Code == codes.Error
		sp.Status = s.Status().Description
		out = append(out, sp)
	}
	return out
}
