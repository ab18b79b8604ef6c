package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

// marker stands for a secret a producer put in a body.
const marker = "S3CR3T-4111111111111111"

// attrHolds reports whether any value of an item (nested ones too) contains s.
func attrHolds(v types.AttributeValue, s string) bool {
	switch a := v.(type) {
	case *types.AttributeValueMemberS:
		return strings.Contains(a.Value, s)
	case *types.AttributeValueMemberB:
		return strings.Contains(string(a.Value), s)
	case *types.AttributeValueMemberM:
		for k, x := range a.Value {
			if strings.Contains(k, s) || attrHolds(x, s) {
				return true
			}
		}
	case *types.AttributeValueMemberL:
		for _, x := range a.Value {
			if attrHolds(x, s) {
				return true
			}
		}
	case *types.AttributeValueMemberSS:
		return strings.Contains(strings.Join(a.Value, "\x00"), s)
	}
	return false
}

// TestSecretsStayOutOfLogsAndTables invokes the real bootstrap under
// aws-lambda-rie with bodies carrying a marker in the id, the account, an
// unknown field, and in the fields of invalid events whose errors are
// logged, twice (the second time as duplicates). The marker appears in no
// line of the function's or the emulator's output, in no error attribute of
// the DLQ, and in no attribute of the idempotency table, which holds hashed
// keys, payload hashes and amounts only. (The ledger table holds ids and
// accounts: that is the business data.)
func TestSecretsStayOutOfLogsAndTables(t *testing.T) {
	t.Parallel()
	tb := newTables(t)
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	w := startWorker(t, rie.Config{Bootstrap: bootstraps.Path(t, bootstraps.Consumer), Env: consumerEnv(tb, q.DLQURL, "LOG_LEVEL=DEBUG"), FunctionTimeout: 30 * time.Second})

	ts := `"occurred_at":"2026-11-27T10:00:00Z"`
	bodies := []string{
		(event{ID: "evt-" + marker, Account: "acc-1", Amount: 10}).body(),
		(event{ID: "evt-2", Account: "acc-" + marker, Amount: 20}).body(),
		(event{ID: "evt-3", Account: "acc-1", Amount: 30}).body(fmt.Sprintf(`"card":%q`, marker)),
		`{"id":"` + marker + strings.Repeat("x", 200) + `","account":"a","amount":1,"currency":"EUR",` + ts + `}`,
		`{"id":"evt-4","account":"a","amount":"` + marker + `","currency":"EUR",` + ts + `}`,
		`{"id":"evt-5","account":"a","amount":1,"currency":"` + marker + `",` + ts + `}`,
		`{"id":"evt-6","account":"a","amount":1,"currency":"EUR","occurred_at":"` + marker + `"}`,
		`{"id":"evt-7","account":"a","amount":1,"currency":"EUR",` + ts + `,"` + marker + `":1}`,
		`{"id":"evt-8","account":"` + marker,
		(event{ID: "evt-" + marker, Account: "acc-1", Amount: 11}).body(), // same id, other payload
	}
	for round := range 2 {
		var ev events.SQSEvent
		for i, b := range bodies {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: fmt.Sprintf("m-%d-%d", round, i), Body: b, EventSource: "aws:sqs",
				EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:secrets",
			})
		}
		payload, err := json.Marshal(ev)
		require.NoError(t, err)
		resp, err := w.Invoke(context.Background(), payload)
		require.NoError(t, err)
		require.NotContains(t, string(resp), marker, "the function's response")
	}

	out := w.out.String()
	require.Contains(t, out, `"msg":"sqsonce: effect applied"`, "the output was captured")
	for _, line := range strings.Split(out, "\n") {
		require.NotContains(t, line, marker, "a log line leaks the marker")
	}
	dlq := drainQueue(t, client, q.DLQURL)
	require.NotEmpty(t, dlq)
	for _, d := range dlq {
		require.NotContains(t, d.Error, marker, "the DLQ's error attribute of %q", d.Body)
	}
	records := scanAll(t, tb.db, tb.idem)
	require.Len(t, records, 4, "the four valid events")
	for _, item := range records {
		require.Regexp(t, `^payments#[0-9a-f]{64}$`, attrString(item, dynamostore.AttrKey), "the key is hashed")
		for name, v := range item {
			require.False(t, strings.Contains(name, marker) || attrHolds(v, marker), "idempotency attribute %s holds the marker", name)
		}
	}
}
