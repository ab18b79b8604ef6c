package reliability_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// app is the real consumer wiring (consumer.New) in process, on its
// own tables, with permanent failures sent to a real DLQ and logs captured.
type app struct {
	tables
	proc   *sqsonce.Handler[ledger.Receipt]
	sqs    *sqs.Client
	dlqURL string
	logs   *rie.Buffer
}

func newApp(t *testing.T) app {
	t.Helper()
	a := app{tables: newTables(t), sqs: awstest.SQS(t), logs: &rie.Buffer{}}
	a.dlqURL = awstest.NewQueue(t, a.sqs, awstest.QueueSpec{}).DLQURL
	cfg, err := consumer.LoadConfig(func(k string) string {
		return map[string]string{"IDEMPOTENCY_TABLE": a.idem, "LEDGER_TABLE": a.ledger, "PERMANENT_DLQ_URL": a.dlqURL}[k]
	})
	require.NoError(t, err)
	a.proc, err = consumer.New(cfg, consumer.Clients{DynamoDB: a.db, DLQ: a.sqs}, a.logs)
	require.NoError(t, err)
	return a
}

// recordClasses maps message id to the error class of its batch record line.
func recordClasses(logs string) map[string]string {
	out := map[string]string{}
	for _, l := range logLines(logs) {
		if l["msg"] != "sqsbatch: record" {
			continue
		}
		id, _ := l["message_id"].(string)
		class, _ := l["error_class"].(string)
		out[id] = class
	}
	return out
}

func strAttr(v string) events.SQSMessageAttribute {
	return events.SQSMessageAttribute{DataType: "String", StringValue: &v}
}

// TestHostileInput sends one batch of broken and hostile records through the
// real consumer. Each case names the outcomes it may end with (a DLQ can
// refuse a body SQS itself could never carry, and the record is then
// reported failed for the queue's redrive to handle) and the error class its
// log line must carry. Every record is accounted for: in the ledger, in the
// DLQ, or in the batch's failure list; nothing is applied twice.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	orig := event{ID: "evt-orig", Account: "acc-h", Amount: 100}
	report, err := a.proc.Process(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-orig", Body: orig.body()}}})
	require.NoError(t, err)
	require.Empty(t, report.Response.BatchItemFailures)

	valid := `"account":"acc-h","amount":5,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"`
	tenAttrs := map[string]events.SQSMessageAttribute{}
	for i := range 10 {
		tenAttrs[fmt.Sprintf("a%d", i)] = strAttr("x")
	}
	dlqOrFailed := []sqsonce.Outcome{sqsonce.OutcomeSentToDLQ, sqsonce.OutcomeDLQFailed}
	toDLQ := []sqsonce.Outcome{sqsonce.OutcomeSentToDLQ}
	ok := []sqsonce.Outcome{sqsonce.OutcomeSucceeded}
	const invalid, mismatch = "invalid-event", sqsonce.ClassPayloadMismatch
	cases := []struct {
		name     string
		body     string
		attrs    map[string]events.SQSMessageAttribute
		outcomes []sqsonce.Outcome
		class    string
		applied  *event // the event this record applies, if any
	}{
		{"malformed JSON", `{"id":"x",`, nil, toDLQ, invalid, nil},
		{"JSON array", `[1,2]`, nil, toDLQ, invalid, nil},
		{"trailing data", `{"id":"t-1",` + valid + `}{}`, nil, toDLQ, invalid, nil},
		{"empty body", ``, nil, dlqOrFailed, invalid, nil},
		{"256 KiB body", `{"id":"big","pad":"` + strings.Repeat("x", 256<<10-20) + `"}`, nil, dlqOrFailed, invalid, nil},
		{"invalid UTF-8", "{\"id\":\"u-\xff\xfe\"," + valid + "}", nil, dlqOrFailed, invalid, nil},
		{"missing id", `{` + valid + `}`, nil, toDLQ, invalid, nil},
		{"over-long id", `{"id":"` + strings.Repeat("i", ledger.MaxIDBytes+1) + `",` + valid + `}`, nil, toDLQ, invalid, nil},
		{"reserved id", `{"id":"#balance",` + valid + `}`, nil, toDLQ, invalid, nil},
		{"amount 0", `{"id":"z","account":"acc-h","amount":0,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, nil, toDLQ, invalid, nil},
		{"fractional amount", `{"id":"f","account":"acc-h","amount":1.5,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, nil, toDLQ, invalid, nil},
		{"amount as a string", `{"id":"s","account":"acc-h","amount":"10","currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, nil, toDLQ, invalid, nil},
		{"amount beyond int64", `{"id":"b","account":"acc-h","amount":9223372036854775808,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, nil, toDLQ, invalid, nil},
		{"lower-case currency", `{"id":"c","account":"acc-h","amount":5,"currency":"eur","occurred_at":"2026-11-27T10:00:00Z"}`, nil, toDLQ, invalid, nil},
		{"bad time", `{"id":"tm","account":"acc-h","amount":5,"currency":"EUR","occurred_at":"yesterday"}`, nil, toDLQ, invalid, nil},
		{"unknown fields accepted", (event{ID: "evt-unknown", Account: "acc-h", Amount: 7}).body(`"memo":"hi"`, `"nested":{"a":[1]}`), nil, ok, "", &event{ID: "evt-unknown", Account: "acc-h", Amount: 7}},
		{"same id, other payload", (event{ID: orig.ID, Account: orig.Account, Amount: 999}).body(), nil, toDLQ, mismatch, nil},
		{"same id, same payload (producer retry)", orig.body(`"retry":true`), nil, ok, "", nil},
		{"odd attributes on a valid event", (event{ID: "evt-attrs", Account: "acc-h", Amount: 9}).body(), map[string]events.SQSMessageAttribute{
			"bin":    {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
			"custom": {DataType: "String.custom", StringValue: strPtr("é\u2028")},
			"num":    {DataType: "Number", StringValue: strPtr("1e400")},
		}, ok, "", &event{ID: "evt-attrs", Account: "acc-h", Amount: 9}},
		{"poison with ten attributes", `{"id":"attrs-10"}`, tenAttrs, dlqOrFailed, invalid, nil},
	}
	var batch events.SQSEvent
	for i, c := range cases {
		batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%02d", i), Body: c.body, MessageAttributes: c.attrs})
	}
	report, err = a.proc.Process(ctx, batch)
	require.NoError(t, err)
	failed := map[string]bool{}
	for _, f := range report.Response.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	classes := recordClasses(a.logs.String())
	inDLQ := map[string]int{}
	for _, d := range drainQueue(t, a.sqs, a.dlqURL) {
		inDLQ[d.Body]++
	}
	applied := []event{orig}
	for i, c := range cases {
		id := batch.Records[i].MessageId
		o, _ := report.Outcome(id)
		require.Contains(t, c.outcomes, o, "%s: outcome", c.name)
		require.Equal(t, c.class, classes[id], "%s: error class in the log", c.name)
		switch o {
		case sqsonce.OutcomeSucceeded:
			require.False(t, failed[id], c.name)
		case sqsonce.OutcomeSentToDLQ:
			require.Equal(t, 1, inDLQ[c.body], "%s: in the DLQ once", c.name)
			require.False(t, failed[id], c.name)
		default:
			require.True(t, failed[id], "%s: reported failed", c.name)
		}
		if c.applied != nil {
			applied = append(applied, *c.applied)
		}
		t.Logf("%-40s -> %-12s class=%q", c.name, o, classes[id])
	}
	requireExactlyOnce(t, a.tables, applied)
}

func strPtr(s string) *string { return &s }

// TestTenThousandRecordBatch sends one batch of 10,000 records (Lambda's
// maximum for a standard queue): 100 events, each a hundred times under
// distinct message ids (producer retries). Every copy is answered in the
// invocation: each event is applied once, and its 99 twins replay it.
func TestTenThousandRecordBatch(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	const unique, copies = 100, 100
	evs := makeEvents("big", unique, 10)
	var batch events.SQSEvent
	for c := range copies {
		for i, e := range evs {
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%03d-%02d", i, c), Body: e.body()})
		}
	}
	report, err := a.proc.Process(context.Background(), batch)
	require.NoError(t, err)
	c := report.Counts
	require.Equal(t, unique*copies, c.Records)
	require.Equal(t, c.Records, c.Succeeded, "every record succeeded: %+v", c)
	require.Empty(t, report.Response.BatchItemFailures)
	require.Equal(t, unique, report.Counts.Executed)
	require.Equal(t, unique*(copies-1), report.Counts.Replayed)
	classes := recordClasses(a.logs.String())
	require.Len(t, classes, unique*copies, "one log line per record")
	require.Equal(t, 0, bytes.Count([]byte(a.logs.String()), []byte(`"outcome":"panicked"`)))
	requireExactlyOnce(t, a.tables, evs)
}
