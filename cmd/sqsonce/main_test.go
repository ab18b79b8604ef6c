package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// runCLI runs the command line in process and returns its exit code,
// stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runIn(t, stdin, os.Environ(), args...)
}

// runIn is runCLI with the command's environment given.
func runIn(t *testing.T, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, cli{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, env: env})
	return code, stdout.String(), stderr.String()
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "", "--help")
	require.Equal(t, exitOK, code)
	for _, cmd := range []string{"send", "inspect", "dlq", "redrive", "demo"} {
		require.Contains(t, out, "\n  "+cmd+" ", "the help lists %s", cmd)

		code, out, errOut := runCLI(t, "", cmd, "--help")
		require.Equal(t, exitOK, code, cmd)
		require.Contains(t, out, "Usage: sqsonce "+cmd, cmd)
		require.Empty(t, errOut, "help goes to stdout")
		for _, flag := range []string{"-region", "-profile", "-endpoint-url", "-debug"} {
			require.Regexp(t, `\n  `+flag+`[ \n]`, out, "%s takes the AWS CLI's %s", cmd, flag)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"bad flag", []string{"send", "--bogus"}, "flag provided but not defined: -bogus"},
		{"bad flag value", []string{"demo", "--events", "many"}, "invalid value"},
		{"send without queue", []string{"send", "--count", "3"}, "give --queue-url or --stack-name"},
		{"send with file and count", []string{"send", "--queue-url", "q", "--count", "3", "--file", "x"}, "exactly one of --file and --count"},
		{"inspect without key", []string{"inspect", "--table", "t"}, "exactly one KEY"},
		{"inspect without table", []string{"inspect", "evt-1"}, "give --table or --stack-name"},
		{"inspect shards without sort key", []string{"inspect", "--table", "t", "--shards", "4", "evt-1"}, "goes with --sort-key"},
		{"inspect bad output", []string{"inspect", "--table", "t", "--output", "yaml", "evt-1"}, `"yaml" is not table or json`},
		{"dlq without queue", []string{"dlq"}, "give --dlq-url or --stack-name"},
		{"dlq bad max", []string{"dlq", "--dlq-url", "q", "--max", "0"}, "--max must be positive"},
		{"redrive without queues", []string{"redrive"}, "give --dlq-url and --queue-url, or --stack-name"},
		{"redrive visibility in seconds", []string{"redrive", "--dlq-url", "a", "--queue-url", "b", "--visibility-timeout", "30"}, `invalid value "30" for flag -visibility-timeout`},
		{"redrive bad method", []string{"redrive", "--dlq-url", "a", "--queue-url", "b", "--method", "teleport"}, "is not auto"},
		{"demo bad share", []string{"demo", "--duplicates", "1.5"}, "not within 0..1"},
		{"demo bad env", []string{"demo", "--env", "NOEQUALS"}, "is not KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tt.args...)
			require.Equal(t, exitUsage, code)
			require.Contains(t, errOut, tt.want)
			require.Empty(t, out, "usage errors go to stderr")
		})
	}
}

// TestInspect reads a record that a guard wrote and completed, and a key
// that has none.
func TestInspect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := awstest.DynamoDB(t)
	table := awstest.NewTable(t, db, awstest.IdempotencyTable)
	store, err := dynamostore.New(db, table)
	require.NoError(t, err)
	guard, err := sqsonce.NewOnce[json.RawMessage](store, sqsonce.OnceConfig{KeyPrefix: "inspect-test"})
	require.NoError(t, err)
	_, _, err = guard.Do(ctx, "evt-42", []byte(`{"id":"evt-42"}`), func(context.Context) (json.RawMessage, error) {
		return json.RawMessage(`{"account":"acc-1","applied":250}`), nil
	})
	require.NoError(t, err)

	code, out, errOut := runCLI(t, "", "inspect", "--table", table, "--prefix", "inspect-test", "evt-42")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `status\s+COMPLETED`, out)
	require.Contains(t, out, idempotency.StoredKey("inspect-test", "evt-42"))
	require.Regexp(t, `result\s+\{"account":"acc-1","applied":250\}`, out)
	in := regexp.MustCompile(`expires at\s+\S+ \(in (\S+)\)`).FindStringSubmatch(out)
	require.NotNil(t, in, out)
	expiresIn, err := time.ParseDuration(in[1])
	require.NoError(t, err)
	require.InDelta(t, idempotency.TTLDefault.Seconds(), expiresIn.Seconds(), 5, "the default TTL (stored in whole seconds)")
	require.Regexp(t, `live\s+yes`, out)

	code, out, _ = runCLI(t, "", "inspect", "--stored", "--table", table, idempotency.StoredKey("inspect-test", "evt-42"))
	require.Equal(t, exitOK, code)
	require.Regexp(t, `status\s+COMPLETED`, out)

	code, out, _ = runCLI(t, "", "inspect", "evt-43", "--table", table, "--prefix", "inspect-test")
	require.Equal(t, exitFailure, code)
	require.Contains(t, out, "key evt-43: not found")
}

// TestSendFile puts every line of a JSON-lines file on the queue once, and
// sends nothing from a file with an invalid line.
func TestSendFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})

	var lines []string
	for i := 1; i <= 23; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":"evt-%d","account":"acc-%d","amount":%d,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, i, i%3, i*10))
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n\n"), 0o600))

	code, out, errOut := runCLI(t, "", "send", "--queue-url", q.URL, "--file", file)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "sent 23 messages")

	seen := map[string]int{}
	for received := 0; received < len(lines); {
		got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
		})
		require.NoError(t, err)
		require.NotEmpty(t, got.Messages, "received %d of %d", received, len(lines))
		for _, m := range got.Messages {
			e, err := ledger.Decode([]byte(aws.ToString(m.Body)))
			require.NoError(t, err)
			seen[e.ID]++
			received++
		}
	}
	require.Len(t, seen, len(lines))
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
	require.Zero(t, awstest.Visible(t, client, q.URL), "nothing more than the lines")

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(lines[0]+"\n"+`{"id":"evt-x","amount":0}`+"\n"), 0o600))
	other := awstest.NewQueue(t, client, awstest.QueueSpec{})
	code, _, errOut = runCLI(t, "", "send", "--queue-url", other.URL, "--file", bad)
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "line 2")
	require.Zero(t, awstest.Visible(t, client, other.URL), "a file with an invalid line sends nothing")
}

// TestRedrive moves every DLQ message back to the source queue once, on
// moto through the receive/send/delete loop.
func TestRedrive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	for i := range 4 {
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.DLQURL), MessageBody: aws.String(fmt.Sprintf("m-%d", i))})
		require.NoError(t, err)
	}

	code, out, errOut := runCLI(t, "", "redrive", "--dlq-url", q.DLQURL, "--queue-url", q.URL)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "moved 4 messages")
	require.Contains(t, errOut, "redrive: moved 4, failed 0")

	require.Equal(t, 4, awstest.Visible(t, client, q.URL))
	require.Zero(t, awstest.Visible(t, client, q.DLQURL))
}
