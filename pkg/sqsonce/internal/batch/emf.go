package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// EMF is where and how Counts are written as CloudWatch Embedded Metric
// Format (Config.Metrics).
//
// Lambda filters a function's logs by level when they are JSON
// (LoggingConfig.LogFormat JSON, ApplicationLogLevel): a line reaches
// CloudWatch Logs, and so its metrics reach CloudWatch, only when its level
// is at or above the function's ApplicationLogLevel. Lambda reads the level
// from the line's "level" field, and counts a line as INFO when that field
// is missing or invalid, or when its "timestamp" is missing or not RFC 3339.
// An EMF line without them is dropped at WARN and ERROR, and alarms on its
// metrics (TreatMissingData notBreaching) then stay quiet through an outage.
// So every line carries "level" (EMF.Level) and "timestamp". The level is
// the one the function filters at rather than a fixed ERROR or FATAL that
// would pass every filter: metrics are no error, and a search or a
// subscription on a function's error lines must not find one per
// invocation.
type EMF struct {
	// Writer receives one line per Write. Required; in Lambda, standard
	// output, which publishes the metrics.
	Writer io.Writer
	// Namespace is the CloudWatch namespace. Default MetricsNamespaceDefault.
	Namespace string
	// Dimensions are the CloudWatch dimensions. Default none.
	Dimensions map[string]string
	// Level is each line's "level" for Lambda's log-level filtering: the
	// function's ApplicationLogLevel (the level its logs are filtered at),
	// so that the metrics pass the filter whatever it is. A level between
	// slog's named ones is written as the named one above it, a level above
	// slog.LevelError as FATAL. Default slog.LevelInfo (the zero Level),
	// the level Lambda gives a line without one.
	Level slog.Level
}

// Keys of an EMF line that are neither metrics nor dimensions.
const (
	emfLevelKey     = "level"
	emfTimestampKey = "timestamp"
	emfMetadataKey  = "_aws"
)

// lambdaLevel names l as Lambda's log-level filtering does (TRACE, DEBUG,
// INFO, WARN, ERROR, FATAL), rounding up to the next name.
func lambdaLevel(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "DEBUG"
	case l <= slog.LevelInfo:
		return "INFO"
	case l <= slog.LevelWarn:
		return "WARN"
	case l <= slog.LevelError:
		return "ERROR"
	default:
		return "FATAL"
	}
}

// reserved reports whether name is a key of an EMF line that a metric or a
// dimension cannot take.
func reserved(name string) bool {
	return name == emfLevelKey || name == emfTimestampKey || name == emfMetadataKey
}

// Write writes c, as of at, as one line of Embedded Metric Format: one
// metric of unit Count per field of Counts, named like the field.
func (e EMF) Write(c Counts, at time.Time) error {
	ms := c.metrics()
	values := make([]Metric, len(ms))
	for i, m := range ms {
		values[i] = Metric{Name: m.name, Value: *m.value}
	}
	return e.WriteMetrics(at, values...)
}

// Metric is one named count for WriteMetrics.
type Metric struct {
	Name  string
	Value int
}

// WriteMetrics writes counts of unit Count, as of at, as one line of
// Embedded Metric Format, so that packages built on this one publish their
// own counts the same way.
func (e EMF) WriteMetrics(at time.Time, metrics ...Metric) error {
	if e.Writer == nil {
		return errors.New("EMF.Writer is nil")
	}
	if e.Namespace == "" {
		e.Namespace = MetricsNamespaceDefault
	}
	type definition struct {
		Name string
		Unit string
	}
	doc := make(map[string]any)
	defs := make([]definition, 0, len(metrics))
	for _, m := range metrics {
		if reserved(m.Name) {
			return fmt.Errorf("EMF metric name %q is a key of the line itself", m.Name)
		}
		defs = append(defs, definition{Name: m.Name, Unit: "Count"})
		doc[m.Name] = m.Value
	}
	dims := slices.Sorted(maps.Keys(e.Dimensions))
	if dims == nil {
		dims = []string{}
	}
	for _, d := range dims {
		if _, clash := doc[d]; clash || reserved(d) {
			return fmt.Errorf("EMF dimension %q clashes with a metric name or a key of the line", d)
		}
		doc[d] = e.Dimensions[d]
	}
	doc[emfLevelKey] = lambdaLevel(e.Level)
	doc[emfTimestampKey] = at.UTC().Format(time.RFC3339Nano)
	doc[emfMetadataKey] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  e.Namespace,
			"Dimensions": [][]string{dims},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode EMF: %w", err)
	}
	if _, err := e.Writer.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write EMF: %w", err)
	}
	return nil
}
