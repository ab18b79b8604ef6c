package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// EndpointDefault is where spans go without OTEL_EXPORTER_OTLP_ENDPOINT: the
// collector of the ADOT Lambda layer (or any collector beside the function).
const EndpointDefault = "http://localhost:4318"

// JSONExporter sends spans over OTLP/HTTP with the JSON encoding, the one
// protocol every OTLP receiver (a collector, the ADOT layer) takes on
// /v1/traces. It is written here rather than taken from otlptracehttp, whose
// protobuf and gRPC dependencies would double the bootstrap (13 MB to 29 MB
// stripped, arm64): a cost every cold start pays, with tracing off too.
type JSONExporter struct {
	URL     string            // the traces endpoint, …/v1/traces
	Headers map[string]string // sent with each request
	Client  *http.Client
}

// NewJSONExporter reads the endpoint and headers from the environment as
// the OpenTelemetry SDKs do: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full
// URL), else OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended, else
// EndpointDefault; OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS) as
// comma-separated key=value pairs, values URL-encoded.
func NewJSONExporter(getenv func(string) string) (*JSONExporter, error) {
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		base := getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
		if base == "" {
			base = EndpointDefault
		}
		endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telemetry: OTLP endpoint %q is not an http(s) URL", endpoint)
	}
	headers := map[string]string{}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, kv := range strings.Split(getenv(name), ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			if dv, err := url.QueryUnescape(strings.TrimSpace(v)); err == nil {
				v = dv
			}
			headers[strings.TrimSpace(k)] = v
		}
	}
	return &JSONExporter{URL: endpoint, Headers: headers, Client: &http.Client{}}, nil
}

// ExportSpans sends spans in one request; ctx bounds it.
func (e *JSONExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(encodeSpans(spans))
	if err != nil {
		return fmt.Errorf("encode spans: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return fmt.Errorf("send spans to %s: %w", e.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("send spans to %s: %s: %s", e.URL, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Shutdown closes idle connections.
func (e *JSONExporter) Shutdown(context.Context) error {
	e.Client.CloseIdleConnections()
	return nil
}

// The OTLP/JSON request (opentelemetry-proto's ExportTraceServiceRequest in
// its JSON mapping: IDs in hex, 64-bit integers as strings, enums as
// numbers).
type (
	Request struct {
		ResourceSpans []ResourceSpans `json:"resourceSpans"`
	}
	ResourceSpans struct {
		Resource   Resource     `json:"resource"`
		ScopeSpans []ScopeSpans `json:"scopeSpans"`
	}
	Resource struct {
		Attributes []KeyValue `json:"attributes,omitempty"`
	}
	ScopeSpans struct {
		Scope Scope  `json:"scope"`
		Spans []Span `json:"spans"`
	}
	Scope struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	Span struct {
		TraceID           string     `json:"traceId"`
		SpanID            string     `json:"spanId"`
		TraceState        string     `json:"traceState,omitempty"`
		ParentSpanID      string     `json:"parentSpanId,omitempty"`
		Name              string     `json:"name"`
		Kind              int        `json:"kind"`
		StartTimeUnixNano string     `json:"startTimeUnixNano"`
		EndTimeUnixNano   string     `json:"endTimeUnixNano"`
		Attributes        []KeyValue `json:"attributes,omitempty"`
		Events            []Event    `json:"events,omitempty"`
		Links             []Link     `json:"links,omitempty"`
		Status            Status     `json:"status"`
	}
	Event struct {
		TimeUnixNano string     `json:"timeUnixNano"`
		Name         string     `json:"name"`
		Attributes   []KeyValue `json:"attributes,omitempty"`
	}
	Link struct {
		TraceID    string     `json:"traceId"`
		SpanID     string     `json:"spanId"`
		Attributes []KeyValue `json:"attributes,omitempty"`
	}
	Status struct {
		Code    int    `json:"code,omitempty"` // 0 unset, 1 ok, 2 error
		Message string `json:"message,omitempty"`
	}
	KeyValue struct {
		Key   string   `json:"key"`
		Value AnyValue `json:"value"`
	}
	AnyValue struct {
		StringValue *string     `json:"stringValue,omitempty"`
		BoolValue   *bool       `json:"boolValue,omitempty"`
		IntValue    *string     `json:"intValue,omitempty"`
		DoubleValue *float64    `json:"doubleValue,omitempty"`
		ArrayValue  *ArrayValue `json:"arrayValue,omitempty"`
	}
	ArrayValue struct {
		Values []AnyValue `json:"values"`
	}
)

// String returns the value as text (an array as its values joined by ",").
func (v AnyValue) String() string {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return strconv.FormatBool(*v.BoolValue)
	case v.IntValue != nil:
		return *v.IntValue
	case v.DoubleValue != nil:
		return strconv.FormatFloat(*v.DoubleValue, 'g', -1, 64)
	case v.ArrayValue != nil:
		parts := make([]string, len(v.ArrayValue.Values))
		for i, e := range v.ArrayValue.Values {
			parts[i] = e.String()
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func encodeSpans(spans []sdktrace.ReadOnlySpan) Request {
	type group struct {
		res    *ResourceSpans
		scopes map[string]int // scope name -> index in res.ScopeSpans
	}
	var req Request
	byRes := map[any]*group{}
	var order []*group
	for _, s := range spans {
		g := byRes[s.Resource()]
		if g == nil {
			g = &group{res: &ResourceSpans{Resource: Resource{Attributes: keyValues(s.Resource().Attributes())}}, scopes: map[string]int{}}
			byRes[s.Resource()] = g
			order = append(order, g)
		}
		scope := s.InstrumentationScope()
		i, ok := g.scopes[scope.Name]
		if !ok {
			i = len(g.res.ScopeSpans)
			g.scopes[scope.Name] = i
			g.res.ScopeSpans = append(g.res.ScopeSpans, ScopeSpans{Scope: Scope{Name: scope.Name, Version: scope.Version}})
		}
		g.res.ScopeSpans[i].Spans = append(g.res.ScopeSpans[i].Spans, encodeSpan(s))
	}
	for _, g := range order {
		req.ResourceSpans = append(req.ResourceSpans, *g.res)
	}
	return req
}

func encodeSpan(s sdktrace.ReadOnlySpan) Span {
	sc := s.SpanContext()
	out := Span{
		TraceID:           sc.TraceID().String(),
		SpanID:            sc.SpanID().String(),
		TraceState:        sc.TraceState().String(),
		Name:              s.Name(),
		Kind:              int(s.SpanKind()), // the SDK's numbers are OTLP's
		StartTimeUnixNano: nanos(s.StartTime()),
		EndTimeUnixNano:   nanos(s.EndTime()),
		Attributes:        keyValues(s.Attributes()),
	}
	if p := s.Parent(); p.IsValid() {
		out.ParentSpanID = p.SpanID().String()
	}
	for _, ev := range s.Events() {
		out.Events = append(out.Events, Event{TimeUnixNano: nanos(ev.Time), Name: ev.Name, Attributes: keyValues(ev.Attributes)})
	}
	for _, l := range s.Links() {
		out.Links = append(out.Links, Link{TraceID: l.SpanContext.TraceID().String(),
			SpanID: l.SpanContext.SpanID().String(), Attributes: keyValues(l.Attributes)})
	}
	switch s.Status().Code {
	case codes.Ok:
		out.Status.Code = 1
	case codes.Error:
		out.Status = Status{Code: 2, Message: s.Status().Description}
	}
	return out
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

func keyValues(kvs []attribute.KeyValue) []KeyValue {
	out := make([]KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, KeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)})
	}
	return out
}

func anyValue(v attribute.Value) AnyValue {
	switch v.Type() {
	case attribute.BOOL:
		b := v.AsBool()
		return AnyValue{BoolValue: &b}
	case attribute.INT64:
		i := strconv.FormatInt(v.AsInt64(), 10)
		return AnyValue{IntValue: &i}
	case attribute.FLOAT64:
		f := v.AsFloat64()
		return AnyValue{DoubleValue: &f}
	case attribute.STRINGSLICE, attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE:
		var vals []AnyValue
		switch v.Type() {
		case attribute.STRINGSLICE:
			for _, s := range v.AsStringSlice() {
				vals = append(vals, anyValue(attribute.StringValue(s)))
			}
		case attribute.BOOLSLICE:
			for _, b := range v.AsBoolSlice() {
				vals = append(vals, anyValue(attribute.BoolValue(b)))
			}
		case attribute.INT64SLICE:
			for _, i := range v.AsInt64Slice() {
				vals = append(vals, anyValue(attribute.Int64Value(i)))
			}
		case attribute.FLOAT64SLICE:
			for _, f := range v.AsFloat64Slice() {
				vals = append(vals, anyValue(attribute.Float64Value(f)))
			}
		}
		return AnyValue{ArrayValue: &ArrayValue{Values: vals}}
	}
	s := v.Emit()
	return AnyValue{StringValue: &s}
}
