package sqsonce

import (
	"io"
	"log/slog"
	"time"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// MetricsNamespaceDefault is the default EMF.Namespace.
const MetricsNamespaceDefault = batch.MetricsNamespaceDefault

// EMF is where and how a Handler writes its metrics (Config.Metrics): each
// invocation's Counts as one line of CloudWatch Embedded Metric Format, one
// metric of unit Count per field, named like it, and MetricConsumerPaused
// and MetricPausedSeconds from the probe.
//
// Every line carries "level" and an RFC 3339 "timestamp", so that Lambda's
// log-level filtering of JSON logs keeps it at the function's level.
type EMF struct {
	// Writer receives one line per invocation. Required; in Lambda,
	// standard output, which publishes the metrics.
	Writer io.Writer
	// Namespace is the CloudWatch namespace. Default
	// MetricsNamespaceDefault.
	Namespace string
	// Dimensions are the CloudWatch dimensions (for example FunctionName).
	// Default none.
	Dimensions map[string]string
	// Level is each line's "level": the function's ApplicationLogLevel, so
	// that the metrics pass Lambda's filter whatever it is. Default
	// slog.LevelInfo.
	Level slog.Level
}

// write writes metrics as of at as one line.
func (e *EMF) write(at time.Time, metrics ...batch.Metric) error {
	return batch.EMF{Writer: e.Writer, Namespace: e.Namespace, Dimensions: e.Dimensions, Level: e.Level}.WriteMetrics(at, metrics...)
}
