package sqsbatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// EMF is where and how Counts are written as CloudWatch Embedded Metric
// Format (Config.Metrics).
type EMF struct {
	// Writer receives one line per Write. Required; in Lambda, standard
	// output, which publishes the metrics.
	Writer io.Writer
	// Namespace is the CloudWatch namespace. Default MetricsNamespaceDefault.
	Namespace string
	// Dimensions are the CloudWatch dimensions. Default none.
	Dimensions map[string]string
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
		defs = append(defs, definition{Name: m.Name, Unit: "Count"})
		doc[m.Name] = m.Value
	}
	dims := slices.Sorted(maps.Keys(e.Dimensions))
	if dims == nil {
		dims = []string{}
	}
	for _, d := range dims {
		if _, clash := doc[d]; clash || d == "_aws" {
			return fmt.Errorf("EMF dimension %q clashes with a metric name", d)
		}
		doc[d] = e.Dimensions[d]
	}
	doc["_aws"] = map[string]any{
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
