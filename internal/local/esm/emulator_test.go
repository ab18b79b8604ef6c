package esm_test

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// buildHandler builds testdata/handler, a real aws-lambda-go SQS function.
func buildHandler(t *testing.T) string {
	t.Helper()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	out, err := exec.Command("go", "build", "-o", bootstrap, "./testdata/handler").CombinedOutput()
	require.NoError(t, err, "build testdata/handler: %s", out)
	return bootstrap
}

// TestRealBootstrapUnderEmulator feeds a real bootstrap, run by
// aws-lambda-rie, from a moto queue with two pollers: a function error fails
// its whole batch, a reported failure ends in the DLQ, the rest is deleted.
func TestRealBootstrapUnderEmulator(t *testing.T) {
	t.Parallel()
	bootstrap := buildHandler(t)
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{VisibilityTimeout: 1, MaxReceiveCount: 2})
	bodies := []string{"crash", "poison"}
	for i := range 18 {
		bodies = append(bodies, "ok-"+string(rune('a'+i)))
	}
	sendBodies(t, client, q.URL, bodies...)
	queued := int64(awstest.Visible(t, client, q.URL))

	output := &rie.Buffer{}
	var invokers []esm.Invoker
	for range 2 {
		em, err := rie.Start(context.Background(), rie.Config{
			Bootstrap:       bootstrap,
			Env:             os.Environ(),
			FunctionTimeout: 10 * time.Second,
			Output:          output,
		})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, em.Stop()) })
		invokers = append(invokers, em)
	}
	m := newMapping(t, esm.Config{QueueURL: q.URL, Client: client, Invokers: invokers})
	runUntilDrained(t, m)

	st := m.Stats()
	dead := awstest.Bodies(awstest.Drain(t, client, q.DLQURL))
	require.Equal(t, []string{"poison"}, slices.Collect(maps.Keys(dead)))
	require.Equal(t, queued-int64(dead["poison"]), st.Deleted, "all but the poison message")
	require.Equal(t, int64(1), st.BatchFailures, "the crash on first delivery")
	// Poison comes twice; it is reported on each delivery unless it shared
	// the crashing batch.
	require.Contains(t, []int64{1, 2}, st.ReportedFailed)
	require.Empty(t, awstest.Bodies(awstest.Drain(t, client, q.URL)))
	require.Contains(t, output.String(), "crash on first delivery")
	require.Equal(t, int(st.Batches-st.BatchFailures), strings.Count(output.String(), "handled "))
}
