// Package otlpsink is an OTLP/HTTP trace receiver in process: the spans a
// function under the emulator exports (TRACING=otlp with
// OTEL_EXPORTER_OTLP_ENDPOINT set to the sink's URL) are kept for a test to
// read, or for the demo to print as a tree. It takes protobuf requests on
// 127.0.0.1 (what otlptracehttp sends by default), uncompressed or gzipped.
package otlpsink

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range req.GetResourceSpans() {
		service := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				got = append(got, fromProto(sp, service))
			}
		}
	}
	s.Add(got...)
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
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

func fromProto(sp *tracepb.Span, service string) Span {
	out := Span{
		Name:    sp.GetName(),
		Service: service,
		Kind:    kinds[sp.GetKind()],
		TraceID: hex.EncodeToString(sp.GetTraceId()),
		SpanID:  hex.EncodeToString(sp.GetSpanId()),
		Attrs:   attrs(sp.GetAttributes()),
		Error:   sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
		Status:  sp.GetStatus().GetMessage(),
		Start:   time.Unix(0, int64(sp.GetStartTimeUnixNano())),
		End:     time.Unix(0, int64(sp.GetEndTimeUnixNano())),
	}
	if len(sp.GetParentSpanId()) > 0 {
		out.ParentID = hex.EncodeToString(sp.GetParentSpanId())
	}
	for _, l := range sp.GetLinks() {
		out.Links = append(out.Links, Link{TraceID: hex.EncodeToString(l.GetTraceId()), SpanID: hex.EncodeToString(l.GetSpanId())})
	}
	return out
}

var kinds = map[tracepb.Span_SpanKind]string{
	tracepb.Span_SPAN_KIND_SERVER: "server", tracepb.Span_SPAN_KIND_CLIENT: "client",
	tracepb.Span_SPAN_KIND_PRODUCER: "producer", tracepb.Span_SPAN_KIND_CONSUMER: "consumer",
	tracepb.Span_SPAN_KIND_INTERNAL: "internal", tracepb.Span_SPAN_KIND_UNSPECIFIED: "internal",
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = v.GetStringValue()
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetBoolValue())
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetDoubleValue())
		default:
			out[kv.GetKey()] = v.String()
		}
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
