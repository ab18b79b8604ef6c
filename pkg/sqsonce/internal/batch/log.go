package batch

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// logRecord writes the one log line of a record: never its body.
func (p *Processor) logRecord(ctx context.Context, id string, o Outcome, d time.Duration, class string, err error) {
	level := slog.LevelInfo
	if o.Reported() {
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs,
		slog.String("message_id", id),
		slog.String("outcome", string(o)),
		slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)),
	)
	if class != "" {
		attrs = append(attrs, slog.String("error_class", class))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		if pe := (*PanicError)(nil); errors.As(err, &pe) {
			level = slog.LevelError
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
	}
	p.cfg.Logger.LogAttrs(ctx, level, "sqsbatch: record", attrs...)
}
