package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/internal/testenv/ledgerscan"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// ScaleVar selects the sizes: "large" under `make chaos`, small otherwise.
const ScaleVar = "SQSONCE_CHAOS_SCALE"

// sized returns small under `make test` and large under `make chaos`.
func sized(small, large int) int {
	if os.Getenv(ScaleVar) == "large" {
		return large
	}
	return small
}

// budget is a time limit of small minutes under `make test` and of chaos
// minutes under `make chaos`.
func budget(small, chaos int) time.Duration {
	if os.Getenv(ScaleVar) == "large" {
		return time.Duration(chaos) * time.Minute
	}
	return time.Duration(small) * time.Minute
}

// keyPrefix is the consumer's default IDEMPOTENCY_KEY_PREFIX.
const keyPrefix = consumer.KeyPrefixDefault

func TestMain(m *testing.M) {
	code := m.Run()
	bootstraps.Cleanup()
	os.Exit(code)
}

// tables are a test's own idempotency and ledger tables.
type tables struct {
	db     *dynamodb.Client
	idem   string
	ledger string
}

func newTables(t *testing.T) tables {
	t.Helper()
	db := awstest.DynamoDB(t)
	return tables{db: db, idem: awstest.NewTable(t, db, awstest.IdempotencyTable), ledger: awstest.NewTable(t, db, awstest.LedgerTable)}
}

// consumerEnv is the environment of the real consumer on tb, with permanent
// failures sent to dlq, and extra KEY=value settings last (they win).
func consumerEnv(tb tables, dlq string, extra ...string) []string {
	env := append(os.Environ(),
		"IDEMPOTENCY_TABLE="+tb.idem,
		"LEDGER_TABLE="+tb.ledger,
		"PERMANENT_DLQ_URL="+dlq,
		"LOG_LEVEL=INFO",
	)
	return append(env, extra...)
}

// event is a valid ledger event.
type event struct {
	ID      string
	Account string
	Amount  int64
}

// body is e as JSON, with extra fields (`"k":v` pairs) appended.
func (e event) body(extra ...string) string {
	fields := []string{
		fmt.Sprintf(`"id":%q`, e.ID), fmt.Sprintf(`"account":%q`, e.Account), fmt.Sprintf(`"amount":%d`, e.Amount),
		`"currency":"EUR"`, `"occurred_at":"2026-11-27T10:00:00Z"`,
	}
	return "{" + strings.Join(append(fields, extra...), ",") + "}"
}

// makeEvents returns n valid events over accounts accounts, amounts of both
// signs.
func makeEvents(prefix string, n, accounts int) []event {
	out := make([]event, n)
	for i := range out {
		amount := int64(rand.IntN(10_000) + 1)
		if i%7 == 0 {
			amount = -amount
		}
		out[i] = event{ID: fmt.Sprintf("%s-%05d", prefix, i), Account: fmt.Sprintf("acc-%02d", i%accounts), Amount: amount}
	}
	return out
}

// send publishes bodies with the project's producer.
func send(t *testing.T, client *sqs.Client, queueURL string, bodies []string) {
	t.Helper()
	msgs := make([]producer.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = producer.Message{Body: b}
	}
	sendMessages(t, client, queueURL, msgs)
}

// sendMessages publishes msgs with the project's producer, in order.
func sendMessages(t *testing.T, client *sqs.Client, queueURL string, msgs []producer.Message) {
	t.Helper()
	pub, err := producer.New(producer.Config{Client: client, QueueURL: queueURL})
	require.NoError(t, err)
	report, err := pub.Send(context.Background(), msgs)
	require.NoError(t, err)
	require.Empty(t, report.Failures)
	require.Equal(t, len(msgs), report.Sent)
}

// requireExactlyOnce checks the ledger against want (see requireLedger) and
// the idempotency table: one COMPLETED record per event and nothing else.
func requireExactlyOnce(t *testing.T, tb tables, want []event) {
	t.Helper()
	requireLedger(t, tb, want)
	requireCompleted(t, tb, want)
}

// requireLedger checks the ledger against want: one entry per event, every
// balance equal to the sum of its entries and to the expected sum.
func requireLedger(t *testing.T, tb tables, want []event) {
	t.Helper()
	ctx := context.Background()
	wantEntries := map[string][]string{}
	wantSum := map[string]int64{}
	for _, e := range want {
		wantEntries[e.Account] = append(wantEntries[e.Account], e.ID)
		wantSum[e.Account] += e.Amount
	}
	got, err := ledgerscan.Snapshot(ctx, tb.db, tb.ledger)
	require.NoError(t, err)
	require.Len(t, got, len(wantEntries), "accounts")
	for account, ids := range wantEntries {
		a := got[account]
		require.NotNil(t, a, account)
		require.ElementsMatch(t, ids, a.Entries, "entries of %s", account)
		require.Equal(t, wantSum[account], a.Sum, "sum of the entries of %s", account)
		require.Equal(t, wantSum[account], a.Balance, "balance of %s", account)
		require.Equal(t, int64(len(ids)), a.Counted, "entries counted by the balance of %s", account)
	}
}

// requireCompleted checks the idempotency table holds one COMPLETED record
// per event and nothing else.
func requireCompleted(t *testing.T, tb tables, want []event) {
	t.Helper()
	records := scanAll(t, tb.db, tb.idem)
	keys := map[string]bool{}
	for _, e := range want {
		keys[idempotency.StoredKey(keyPrefix, e.ID)] = true
	}
	require.Len(t, records, len(keys), "one idempotency record per event")
	for _, r := range records {
		key := attrString(r, dynamostore.AttrKey)
		require.True(t, keys[key], "record %s belongs to no event", key)
		require.Equal(t, string(idempotency.StatusCompleted), attrString(r, dynamostore.AttrStatus), "record %s", key)
	}
}

// scanAll reads a whole table with consistent reads.
func scanAll(t *testing.T, db *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	var start map[string]types.AttributeValue
	for {
		out, err := db.Scan(context.Background(), &dynamodb.ScanInput{
			TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
		})
		require.NoError(t, err)
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items
		}
		start = out.LastEvaluatedKey
	}
}

func attrString(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// dlqMessage is a message read from a dead-letter queue.
type dlqMessage struct {
	Body  string
	Class string // the DLQ's error-class attribute, "" after a redrive
	Error string
}

// drainQueue empties a queue and returns its messages with the error
// attributes sqsonce adds when it sends a record to a DLQ.
func drainQueue(t *testing.T, client *sqs.Client, url string) []dlqMessage {
	t.Helper()
	var out []dlqMessage
	for _, m := range awstest.Drain(t, client, url) {
		d := dlqMessage{Body: aws.ToString(m.Body)}
		if a, ok := m.MessageAttributes["sqsonce-error-class"]; ok {
			d.Class = aws.ToString(a.StringValue)
		}
		if a, ok := m.MessageAttributes["sqsonce-error"]; ok {
			d.Error = aws.ToString(a.StringValue)
		}
		out = append(out, d)
	}
	return out
}

// logLines returns the JSON objects among the lines of out (the consumer's
// slog lines and EMF metrics; the emulator's own lines are not JSON).
func logLines(out string) []map[string]any {
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// tally counts log lines by key=value, e.g. tally(lines, "outcome").
func tally(lines []map[string]any, key string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		if v, ok := l[key].(string); ok {
			out[v]++
		}
	}
	return out
}

// worker is one emulated Lambda execution environment: the real bootstrap
// under its own aws-lambda-rie, restartable after a kill. It is an
// esm.Invoker.
type worker struct {
	cfg rie.Config
	out *rie.Buffer

	mu        sync.Mutex
	em        *rie.Emulator
	kills     int
	durations []time.Duration
}

func startWorker(t *testing.T, cfg rie.Config) *worker {
	t.Helper()
	w := &worker{cfg: cfg, out: &rie.Buffer{}}
	w.cfg.Output = w.out
	em, err := rie.Start(context.Background(), w.cfg)
	require.NoError(t, err)
	w.em = em
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		_ = w.em.Stop()
	})
	return w
}

// Invoke runs the function in the current emulator and records how long the
// invocation took.
func (w *worker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	w.mu.Lock()
	em := w.em
	w.mu.Unlock()
	began := time.Now()
	out, err := em.Invoke(ctx, payload)
	w.mu.Lock()
	w.durations = append(w.durations, time.Since(began))
	w.mu.Unlock()
	return out, err
}

// killAndRestart SIGKILLs the emulator and its bootstrap, as a crash of the
// execution environment, and starts a fresh one.
func (w *worker) killAndRestart(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.em.Kill(); err != nil {
		return err
	}
	w.kills++
	em, err := rie.Start(ctx, w.cfg)
	if err != nil {
		return err
	}
	w.em = em
	return nil
}

// stats returns the kills and the invocation durations so far.
func (w *worker) stats() (kills int, durations []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kills, slices.Clone(w.durations)
}

// percentile returns the p-th percentile of ds (0 for none), rounded to ms.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Millisecond)
}
