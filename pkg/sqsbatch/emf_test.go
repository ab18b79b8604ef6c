package sqsbatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
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
		emf       sqsbatch.EMF
		namespace string
		dims      [][]string
		wantErr   bool
	}{
		{name: "defaults", namespace: sqsbatch.MetricsNamespaceDefault, dims: [][]string{{}}},
		{name: "dimensions sorted", emf: sqsbatch.EMF{Namespace: "n", Dimensions: map[string]string{"b": "2", "a": "1"}},
			namespace: "n", dims: [][]string{{"a", "b"}}},
		{name: "dimension clashing with a metric", emf: sqsbatch.EMF{Dimensions: map[string]string{"Failed": "x"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tc.emf.Writer = &buf
			err := tc.emf.Write(sqsbatch.Counts{Records: 3, Succeeded: 2, Failed: 1}, time.UnixMilli(42))
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
	p := newProcessor(t, (&scripted{}).handle, sqsbatch.Config{
		Metrics: &sqsbatch.EMF{Writer: &buf, Namespace: "orders"}, Now: func() time.Time { return time.UnixMilli(7) },
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
