package outbox

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"time"
)

// The relay's metrics (namespace MetricsNamespace), one line of Embedded
// Metric Format per batch when RelayConfig.Metrics is set.
const (
	MetricsNamespace = "sqsonce"
	MetricSent       = "OutboxSent"    // items sent and marked sent
	MetricRefused    = "OutboxRefused" // items refused for good and marked failed: alarm on any
	MetricRetried    = "OutboxRetried" // items reported for a retry
)

// EMF writes the relay's metrics in CloudWatch's Embedded Metric Format.
type EMF struct {
	// Writer receives one JSON line per batch (os.Stdout in Lambda).
	Writer io.Writer
	// Dimensions label the metrics (the template uses FunctionName).
	Dimensions map[string]string
}

// write writes a batch's counts.
func (e *EMF) write(now time.Time, r RelayReport) error {
	if e == nil || e.Writer == nil {
		return nil
	}
	names := slices.Sorted(maps.Keys(e.Dimensions))
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricsNamespace,
				"Dimensions": [][]string{names},
				"Metrics": []any{
					map[string]string{"Name": MetricSent, "Unit": "Count"},
					map[string]string{"Name": MetricRefused, "Unit": "Count"},
					map[string]string{"Name": MetricRetried, "Unit": "Count"},
				},
			}},
		},
		MetricSent: r.Sent, MetricRefused: r.Refused, MetricRetried: r.Retried,
	}
	for k, v := range e.Dimensions {
		line[k] = v
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = e.Writer.Write(append(b, '\n'))
	return err
}
