package sqsonce

import (
	"context"
	"log/slog"
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// traceLogHandler adds trace_id and span_id to a log line: those of the
// record the line names (its message_id, while the record's span is open),
// else those of the span in the line's context.
type traceLogHandler struct {
	inner slog.Handler
	spans *sync.Map // message ID -> trace.SpanContext
	msgID string    // a message_id given to WithAttrs
}

// tracedLogger returns l with trace_id and span_id on its lines when t is
// on, else l.
func (t *Tracing) tracedLogger(l *slog.Logger) *slog.Logger {
	if t == nil {
		return l
	}
	if h, ok := l.Handler().(*traceLogHandler); ok && h.spans == t.spans {
		return l
	}
	return slog.New(&traceLogHandler{inner: l.Handler(), spans: t.spans})
}

func (h *traceLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	id := h.msgID
	if id == "" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "message_id" {
				id = a.Value.String()
				return false
			}
			return true
		})
	}
	var sc trace.SpanContext
	if id != "" {
		if v, ok := h.spans.Load(id); ok {
			sc = v.(trace.SpanContext)
		}
	}
	if !sc.IsValid() {
		sc = trace.SpanContextFromContext(ctx)
	}
	if sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.inner.Handle(ctx, r)
}

func (h *traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == "message_id" {
			c.msgID = a.Value.String()
		}
	}
	return &c
}

func (h *traceLogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}
