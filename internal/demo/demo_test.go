package demo_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/demo"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// TestRunEndToEnd runs the whole demo small: the init script against moto,
// the real consumer bootstrap under two emulators, producer retries and
// invalid bodies, and checks every invariant of the report against the
// stores.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	var progress, output bytes.Buffer
	// No deadline of its own: the run includes a `go build` and the init
	// script's AWS CLI calls, whose time depends on the machine's load and
	// build cache; go test's -timeout stops a run that hangs.
	rep, err := demo.Run(t.Context(), demo.Options{
		SQS:               awstest.SQS(t),
		DynamoDB:          awstest.DynamoDB(t),
		Streams:           dynamodbstreams.NewFromConfig(awstest.Config(t)),
		Env:               os.Environ(),
		Events:            40,
		Accounts:          4,
		RetryShare:        0.2,
		Invalid:           3,
		Workers:           2,
		Seed:              5,
		VisibilityTimeout: 2 * time.Second,
		MaxReceiveCount:   2,
		Progress:          &progress,
		FunctionOutput:    &output,
	})
	require.NoError(t, err, "progress:\n%s\nfunction output:\n%s", progress.String(), output.String())

	var text bytes.Buffer
	_, err = rep.WriteTo(&text)
	require.NoError(t, err)
	t.Log("\n" + progress.String() + "\n" + text.String())
	require.Empty(t, rep.Violations(), "function output:\n%s", output.String())
	require.True(t, rep.Holds())

	require.Equal(t, 40, rep.UniqueEvents)
	require.Equal(t, 8, rep.Retries)
	require.Equal(t, 3, rep.Invalid)
	require.Equal(t, 51, rep.Sent)
	require.Equal(t, 40, rep.LedgerEntries)
	require.Equal(t, 40, rep.Outcomes.Executed)
	require.GreaterOrEqual(t, rep.Outcomes.Replayed+rep.Outcomes.AlreadyApplied, 8)
	require.Equal(t, 3, rep.DLQ)
	require.Len(t, rep.Accounts, 4)
	for _, a := range rep.Accounts {
		require.Equal(t, a.Expected, a.Balance, a.Account)
		require.Equal(t, a.Events, a.Entries, a.Account)
	}
	// Each invalid body was received MaxReceiveCount times and reported
	// failed each time, as a permanent failure.
	require.GreaterOrEqual(t, rep.Mapping.ReportedFailed, int64(3*2))
	require.GreaterOrEqual(t, rep.Outcomes.Records["permanent"], 3*2)
	require.Contains(t, text.String(), "exactly once: held")

	// The second stage: one notification per event through the outbox, sent
	// twice (two relay passes), applied once each to the second ledger.
	s := rep.Stage2
	require.NotNil(t, s)
	require.Equal(t, 40, s.OutboxItems)
	require.Zero(t, s.Outbox.Pending)
	require.Empty(t, s.Outbox.Failed)
	require.Equal(t, 40, s.Outcomes.Executed)
	require.GreaterOrEqual(t, s.Outcomes.Replayed+s.Outcomes.AlreadyApplied, 40, "the second pass's resends were dropped")
	require.Equal(t, 40, s.LedgerEntries)
	for _, a := range s.Accounts {
		require.Equal(t, a.Expected, a.Balance, a.Account)
	}
	require.Contains(t, text.String(), "stage 1 (ledger events -> consumer -> ledger): exactly once: held")
	require.Contains(t, text.String(), "stage 2 (BalanceChanged -> outbox -> relay -> second consumer): exactly once: held")
	require.Contains(t, progress.String(), "consuming until the queue is drained")
	require.True(t, strings.Contains(output.String(), `"idempotency":"executed"`), "the function's log lines reach FunctionOutput")
	// The trace of one event: from the producer's span to the record's, and
	// the transaction that committed it.
	require.Contains(t, text.String(), "the trace of one event")
	require.Regexp(t, `(?m)^\S+ send  \[producer\]  producer .*\n└─ \S+ process  \[consumer\]  consumer .*sqsonce.idempotency=executed`, rep.Trace)
	require.Contains(t, rep.Trace, "DynamoDB.TransactWriteItems")
}
