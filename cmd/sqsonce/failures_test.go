package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// missingQueueURL returns the URL of a queue that does not exist, on the
// endpoint of q.
func missingQueueURL(q awstest.Queue) string {
	return q.URL[:strings.LastIndex(q.URL, "/")+1] + awstest.UniqueName("no-such-queue")
}

// TestFailedCommandPrintsNoResult: a command that fails prints nothing on
// stdout, only its error on stderr, so a script that pipes its output (to
// jq) never reads an empty DLQ or a zero count from a command that failed.
func TestFailedCommandPrintsNoResult(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	missing := missingQueueURL(q)
	tests := []struct {
		name string
		args []string
	}{
		{"dlq json", []string{"dlq", "--dlq-url", missing, "--output", "json"}},
		{"dlq table", []string{"dlq", "--dlq-url", missing}},
		{"redrive json", []string{"redrive", "--dlq-url", missing, "--queue-url", q.URL, "--method", "receive-send", "--output", "json"}},
		{"redrive table", []string{"redrive", "--dlq-url", missing, "--queue-url", q.URL, "--method", "receive-send"}},
		{"send", []string{"send", "--queue-url", missing, "--count", "2"}},
		{"inspect", []string{"inspect", "--table", awstest.UniqueName("no-such-table"), "--output", "json", "evt-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tt.args...)
			require.Equal(t, exitFailure, code, errOut)
			require.Empty(t, out, "a failed command prints no result")
			require.Contains(t, errOut, "sqsonce "+tt.args[0]+": ", "the error, on stderr")
		})
	}
}

// TestEndpointURLChecked: an endpoint that is not a URL with a scheme and a
// host is refused before any request, as the AWS CLI does, instead of
// failing after the SDK's retries.
func TestEndpointURLChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"not-a-url", "localhost:4566", "http://", "ftp://example.com"} {
		code, out, errOut := runCLI(t, "", "dlq", "--dlq-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "--endpoint-url", bad)
		require.Equal(t, exitUsage, code, "%s: %s", bad, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, `invalid value "`+bad+`" for flag -endpoint-url`)
		require.Regexp(t, `has no (http:// or https:// scheme|host); an endpoint is a URL like http://localhost:4566`, errOut)
	}

	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	for _, v := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"} {
		code, out, errOut := runCLIEnv(t, []string{v + "=not-a-url"}, "dlq", "--dlq-url", q.DLQURL)
		require.Equal(t, exitFailure, code, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, "environment variable "+v+`: "not-a-url" has no http:// or https:// scheme`)
	}
	code, _, errOut := runCLIEnv(t, []string{"AWS_ENDPOINT_URL_SQS=not-a-url", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"}, "dlq", "--dlq-url", "http://"+awstest.ClosedAddr(t)+"/123456789012/q")
	require.NotContains(t, errOut, "environment variable", "the SDK ignores the variables: so does the check")
	require.Equal(t, exitFailure, code)
}

// TestQueueURLChecked: a queue URL flag that is not a URL is a usage error
// that says what a queue URL looks like.
func TestQueueURLChecked(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"dlq", "--dlq-url", "notaurl", "--output", "json"},
		{"send", "--queue-url", "my-queue", "--count", "1"},
		{"redrive", "--dlq-url", "notaurl", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/q"},
		{"redrive", "--dlq-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/q-dlq", "--queue-url", "https://sqs.eu-west-1.amazonaws.com"},
	}
	for _, args := range tests {
		code, out, errOut := runCLI(t, "", args...)
		require.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, "is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
	}
}
