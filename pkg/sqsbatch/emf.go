package sqsbatch

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// EMF says how WriteEMF labels the metrics it writes.
type EMF struct {
	// Namespace is the CloudWatch namespace. Default MetricsNamespaceDefault.
	Namespace string
	// Dimensions are the CloudWatch dimensions. Default none.
	Dimensions map[string]string
	// Timestamp is the time of the data points. Default (zero): time.Now().
	Timestamp time.Time
}

// WriteEMF writes c as one line of CloudWatch Embedded Metric Format: one
// metric of unit Count per field of Counts, named like the field. In Lambda,
// writing the line to standard output publishes the metrics.
func WriteEMF(w io.Writer, c Counts, e EMF) error {
	if e.Namespace == "" {
		e.Namespace = MetricsNamespaceDefault
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = time.Now()
	}
	type definition struct {
		Name string
		Unit string
	}
	doc := make(map[string]any)
	ms := c.metrics()
	defs := make([]definition, 0, len(ms))
	for _, m := range ms {
		defs = append(defs, definition{Name: m.name, Unit: "Count"})
		doc[m.name] = *m.value
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
		"Timestamp": e.Timestamp.UnixMilli(),
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
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write EMF: %w", err)
	}
	return nil
}
