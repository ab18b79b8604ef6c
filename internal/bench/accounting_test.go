package bench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

var accountingOut = flag.String("accounting.out", "", "write the request and cost accounting table (Markdown) to this file")

// row is what one consumer spends per message on one path.
type row struct {
	consumer bench.Consumer
	path     string
	perMsg   map[string]float64 // requests by operation
	wru      float64            // write request units
	note     string
}

func (r row) total() float64 {
	t := 0.0
	for _, v := range r.perMsg {
		t += v
	}
	return t
}

// measure runs warmup, then measured, through h (on m) and returns what
// measured cost per message.
func measure(t *testing.T, m *bench.Metered, h bench.Handler, warmup []events.SQSEvent, measured events.SQSEvent, wantFailed bool) (map[string]float64, float64) {
	t.Helper()
	ctx := context.Background()
	for _, ev := range warmup {
		resp, err := h.Handle(ctx, ev)
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
	}
	m.Reset()
	resp, err := h.Handle(ctx, measured)
	require.NoError(t, err)
	require.Equal(t, wantFailed, len(resp.BatchItemFailures) > 0, "failures: %v", resp.BatchItemFailures)
	counts, wru := m.Counts()
	n := float64(len(measured.Records))
	out := map[string]float64{}
	for op, c := range counts {
		out[op] = float64(c) / n
	}
	return out, float64(wru) / n
}

// DynamoDB requests and write units per message by consumer and path,
// counted on the wire against moto (retries included), downstream writes
// included; the targets asserted.
func TestRequestAccounting(t *testing.T) {
	t.Parallel()
	admin := awstest.DynamoDB(t)
	var mu sync.Mutex
	var rows []row
	add := func(r row) { mu.Lock(); rows = append(rows, r); mu.Unlock() }
	for _, c := range bench.Consumers {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			tables := bench.Tables{
				Idempotency: awstest.NewTable(t, admin, awstest.IdempotencyTable),
				Ledger:      awstest.NewTable(t, admin, awstest.LedgerTable),
			}
			consumer := func(tables bench.Tables, cache int) (*bench.Metered, bench.Handler) {
				m := bench.NewMetered(awstest.DynamoDB(t))
				h, err := bench.NewConsumer(c, m, tables, cache)
				require.NoError(t, err)
				return m, h
			}
			m, h := consumer(tables, 0)
			record := func(path, note string, warmup []events.SQSEvent, measured events.SQSEvent, wantFailed bool) {
				per, wru := measure(t, m, h, warmup, measured, wantFailed)
				add(row{consumer: c, path: path, perMsg: per, wru: wru, note: note})
			}
			one := bench.Batches(string(c)+"-one", 1, 1, 1)[0]
			record("new", "a batch of 1", nil, one, false)
			full := bench.Batches(string(c)+"-full", 100, 100, 10)[0]
			record("new", "a batch of 100 over 10 accounts", nil, full, false)
			ten := bench.Batches(string(c)+"-ten", 10, 10, 10)[0]
			record("new", "a batch of 10 over 10 accounts", nil, ten, false)
			own := bench.Batches(string(c)+"-own", 100, 100, 100)[0]
			record("new", "a batch of 100, each on its own account (no merge)", nil, own, false)
			if c == bench.Baseline {
				record("duplicate", "the batch of 100 redelivered: applied again, caught by the entry condition", nil, full, false)
				return
			}
			record("duplicate", "the batch of 100 redelivered", nil, full, false)
			twice := bench.Batches(string(c)+"-twice", 50, 50, 10)[0]
			for i := range 50 {
				r := twice.Records[i]
				r.MessageId += "-again"
				twice.Records = append(twice.Records, r)
			}
			record("twins", "50 events twice in a batch of 100 (producer retries)", nil, twice, false)
			m, h = consumer(tables, 16)
			hit := bench.Batches(string(c)+"-hit", 1, 1, 1)[0]
			per, wru := measure(t, m, h, []events.SQSEvent{hit}, hit, false)
			add(row{consumer: c, path: "duplicate, cache hit", perMsg: per, wru: wru, note: "the same execution environment"})
		})
	}
	t.Cleanup(func() { check(t, rows) })
}

// check asserts the targets and writes the table when asked.
func check(t *testing.T, rows []row) {
	find := func(c bench.Consumer, path, note string) row {
		for _, r := range rows {
			if r.consumer == c && r.path == path && strings.HasPrefix(r.note, note) {
				return r
			}
		}
		t.Fatalf("no row %s/%s/%s", c, path, note)
		return row{}
	}
	full := find(bench.Default, "new", "a batch of 100 over")
	require.LessOrEqual(t, full.total(), 0.2, "default consumer: requests per new message at batch 100 over 10 accounts")
	require.LessOrEqual(t, full.total(), 0.05, "with the balance merge")
	require.LessOrEqual(t, full.wru, 4.5, "default consumer: write units per new message at batch 100 over 10 accounts")
	require.LessOrEqual(t, find(bench.Default, "duplicate", "").total(), 0.2)
	require.Empty(t, find(bench.Default, "twins", "").perMsg["GetItem"])
	require.Empty(t, find(bench.Default, "duplicate, cache hit", "").perMsg, "a cached duplicate costs nothing")
	// The completions of a batch go together when their records finish
	// within CompleteLinger of each other: how many share a request depends
	// on timing (moto serves one request at a time), so only the bounds are
	// asserted: at best one completion request per 8 records (the records
	// running at once), at worst one per record.
	anyFull := find(bench.AnyEffect, "new", "a batch of 100 over")
	require.GreaterOrEqual(t, anyFull.perMsg["TransactWriteItems"], 1.01,
		"any effect: one claim transaction for the batch, then the ledger write (a transaction) each")
	require.LessOrEqual(t, anyFull.total(), 2.01, "any effect: at most one completion request per message")
	require.GreaterOrEqual(t, anyFull.total(), 1.01+1.0/8)
	require.Equal(t, map[string]float64{"TransactWriteItems": 1}, find(bench.Baseline, "new", "a batch of 1").perMsg)
	if *accountingOut == "" {
		return
	}
	order := map[bench.Consumer]int{bench.Baseline: 0, bench.Default: 1, bench.AnyEffect: 2}
	sort.SliceStable(rows, func(i, j int) bool { return order[rows[i].consumer] < order[rows[j].consumer] })
	ops := []string{"PutItem", "UpdateItem", "DeleteItem", "GetItem", "TransactWriteItems"}
	var b strings.Builder
	b.WriteString("| consumer | path | " + strings.Join(ops, " | ") + " | requests | WRU | note |\n|---|---|" + strings.Repeat("--:|", len(ops)+2) + "---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |", r.consumer, r.path)
		for _, op := range ops {
			fmt.Fprintf(&b, " %s |", num(r.perMsg[op]))
		}
		fmt.Fprintf(&b, " **%s** | **%s** | %s |\n", num(r.total()), num(r.wru), r.note)
	}
	require.NoError(t, os.WriteFile(*accountingOut, []byte(b.String()), 0o644))
}

func num(v float64) string {
	if v == 0 {
		return "0"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
