package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// emfDoc is the part of an EMF line the tests read.
type emfDoc struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	Succeeded int
	Failed    int
	Records   int
}

func TestWriteEMF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		emf       batch.EMF
		namespace string
		dims      [][]string
		wantErr   bool
	}{
		{name: "defaults", namespace: batch.MetricsNamespaceDefault, dims: [][]string{{}}},
		{name: "dimensions sorted", emf: batch.EMF{Namespace: "n", Dimensions: map[string]string{"b": "2", "a": "1"}},
			namespace: "n", dims: [][]string{{"a", "b"}}},
		{name: "dimension clashing with a metric", emf: batch.EMF{Dimensions: map[string]string{"Failed": "x"}}, wantErr: true},
		{name: "dimension clashing with the level", emf: batch.EMF{Dimensions: map[string]string{"level": "x"}}, wantErr: true},
		{name: "dimension clashing with the timestamp", emf: batch.EMF{Dimensions: map[string]string{"timestamp": "x"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tc.emf.Writer = &buf
			err := tc.emf.Write(batch.Counts{Records: 3, Succeeded: 2, Failed: 1}, time.UnixMilli(42))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")), "one line per document")
			var doc emfDoc
			require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
			require.EqualValues(t, 42, doc.AWS.Timestamp)
			require.Len(t, doc.AWS.CloudWatchMetrics, 1)
			d := doc.AWS.CloudWatchMetrics[0]
			require.Equal(t, tc.namespace, d.Namespace)
			require.Equal(t, tc.dims, d.Dimensions)
			require.Len(t, d.Metrics, 14)
			require.Equal(t, 3, doc.Records)
			require.Equal(t, 2, doc.Succeeded)
			require.Equal(t, 1, doc.Failed)
		})
	}
}

func TestProcessorWritesMetricsPerInvocation(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := newProcessor(t, (&scripted{}).handle, batch.Config{
		Metrics: &batch.EMF{Writer: &buf, Namespace: "orders"}, Now: func() time.Time { return time.UnixMilli(7) },
	})
	for range 2 {
		_, err := p.Process(context.Background(), standard("ok-1", "fail-2"))
		require.NoError(t, err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var doc emfDoc
	require.NoError(t, json.Unmarshal(lines[1], &doc))
	require.Equal(t, "orders", doc.AWS.CloudWatchMetrics[0].Namespace)
	require.EqualValues(t, 7, doc.AWS.Timestamp)
	require.Equal(t, 1, doc.Succeeded, "each line holds one invocation's counts")
	require.Equal(t, 2, p.Totals().Succeeded)
}

// lambdaLevels are the levels of Lambda's application log-level filtering,
// most detail first.
var lambdaLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// lambdaKeeps models Lambda's documented log-level filtering of JSON logs
// ("Log-level filtering", Lambda developer guide): a line's level is its
// "level" field, or INFO when that field is missing or invalid or when its
// "timestamp" is missing or not RFC 3339; Lambda sends the line to
// CloudWatch Logs when that level is the function's ApplicationLogLevel or
// one of less detail.
func lambdaKeeps(t *testing.T, line []byte, applicationLogLevel string) bool {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(line, &doc))
	level := "INFO"
	if l, ok := doc["level"].(string); ok && slices.Contains(lambdaLevels, strings.ToUpper(l)) {
		level = strings.ToUpper(l)
	}
	ts, ok := doc["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); !ok || err != nil {
		level = "INFO"
	}
	at := slices.Index(lambdaLevels, applicationLogLevel)
	require.GreaterOrEqual(t, at, 0, "ApplicationLogLevel %s", applicationLogLevel)
	return slices.Index(lambdaLevels, level) >= at
}

// The metrics reach CloudWatch at every log level the template allows
// (LogLevel: DEBUG, INFO, WARN, ERROR, which the consumer gets as LOG_LEVEL
// and Lambda as ApplicationLogLevel): each line passes Lambda's filter at
// the level its writer was given. A line without a level or timestamp, as
// EMF wrote them before, is dropped at WARN and ERROR.
func TestEMFPassesLambdaLogLevelFilter(t *testing.T) {
	t.Parallel()
	allowed := []struct {
		name  string
		level slog.Level
	}{
		{"DEBUG", slog.LevelDebug}, {"INFO", slog.LevelInfo}, {"WARN", slog.LevelWarn}, {"ERROR", slog.LevelError},
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.FixedZone("CET", 3600))
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			emf := batch.EMF{Writer: &buf, Level: tt.level, Dimensions: map[string]string{"FunctionName": "f"}}
			require.NoError(t, emf.Write(batch.Counts{Records: 1, Failed: 1}, at))
			line := bytes.TrimSpace(buf.Bytes())
			require.True(t, lambdaKeeps(t, line, tt.name), "Lambda keeps %s at ApplicationLogLevel %s", line, tt.name)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(line, &doc))
			require.Equal(t, tt.name, doc["level"])
			require.Equal(t, "2026-03-01T11:00:00.123Z", doc["timestamp"])

			withoutLevel := map[string]any{}
			for k, v := range doc {
				if k != "level" && k != "timestamp" {
					withoutLevel[k] = v
				}
			}
			old, err := json.Marshal(withoutLevel)
			require.NoError(t, err)
			require.Equal(t, tt.level <= slog.LevelInfo, lambdaKeeps(t, old, tt.name), "the rule as modelled drops a line without a level above INFO")
		})
	}
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		require.NoError(t, batch.EMF{Writer: &buf}.Write(batch.Counts{}, at))
		require.True(t, lambdaKeeps(t, bytes.TrimSpace(buf.Bytes()), "INFO"))
	})
	t.Run("between and above named levels", func(t *testing.T) {
		t.Parallel()
		for level, want := range map[slog.Level]string{slog.LevelDebug - 4: "DEBUG", slog.LevelInfo + 2: "WARN", slog.LevelError + 4: "FATAL"} {
			var buf bytes.Buffer
			require.NoError(t, batch.EMF{Writer: &buf, Level: level}.Write(batch.Counts{}, at))
			var doc map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
			require.Equal(t, want, doc["level"], "%v", level)
		}
	})
}

func TestEMFRefusesMetricNamedLikeLineKey(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"level", "timestamp", "_aws"} {
		err := batch.EMF{Writer: &bytes.Buffer{}}.WriteMetrics(time.Now(), batch.Metric{Name: name, Value: 1})
		require.Error(t, err, name)
	}
}
