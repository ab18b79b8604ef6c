package bench_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

var accountingOut = flag.String("accounting.out", "", "write the request accounting table (Markdown) to this file")

// row is the DynamoDB requests per message of one path in one mode.
type row struct {
	mode, path string
	perMsg     map[string]float64 // by operation
	note       string
}

func (r row) total() float64 {
	t := 0.0
	for _, v := range r.perMsg {
		t += v
	}
	return t
}

// takeover lets another worker take the key over before the first
// transaction: the worker whose requests are counted then loses its lease.
type takeover struct {
	dynamostore.API
	once  sync.Once
	steal func()
}

func (t *takeover) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	t.once.Do(t.steal)
	return t.API.TransactWriteItems(ctx, in, o...)
}

func event(id string) events.SQSEvent {
	return bench.Batches(id, 1, 1, 1)[0]
}

// count runs the batches through h (built on the counted client) and
// returns the requests per message of the last batch.
func count(t *testing.T, counter *awstest.RequestCounter, h ledger.Handler, warmup []events.SQSEvent, measured events.SQSEvent, wantFailed bool) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	for _, ev := range warmup {
		resp, err := h.Handle(ctx, ev)
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
	}
	counter.Reset()
	resp, err := h.Handle(ctx, measured)
	require.NoError(t, err)
	require.Equal(t, wantFailed, len(resp.BatchItemFailures) > 0, "failures: %v", resp.BatchItemFailures)
	out := map[string]float64{}
	for op, n := range counter.Counts() {
		out[op] = float64(n) / float64(len(measured.Records))
	}
	return out
}

// DynamoDB requests per message by path and mode, counted on the wire
// (retries included) against moto, downstream writes included; the
// issue's targets asserted.
func TestRequestAccounting(t *testing.T) {
	t.Parallel()
	admin := awstest.DynamoDB(t)
	newTables := func() bench.Tables {
		return bench.Tables{
			Idempotency: awstest.NewTable(t, admin, awstest.IdempotencyTable),
			Ledger:      awstest.NewTable(t, admin, awstest.LedgerTable),
		}
	}
	missing := func(tb bench.Tables) bench.Tables { tb.Ledger += "-missing"; return tb }
	var mu sync.Mutex
	var rows []row
	add := func(r row) { mu.Lock(); rows = append(rows, r); mu.Unlock() }

	for _, mode := range []ledger.Mode{ledger.ModePlain, ledger.ModeTx} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			consumer := func(tables bench.Tables, cache int) (*awstest.RequestCounter, ledger.Handler) {
				counter := awstest.NewRequestCounter()
				h, err := bench.NewConsumer(bench.Consumer(mode), awstest.DynamoDB(t, counter.Option), tables, cache)
				require.NoError(t, err)
				return counter, h
			}
			tables := newTables()
			c, h := consumer(tables, 0)
			add(row{mode: string(mode), path: "new", perMsg: count(t, c, h, nil, event("new"), false)})
			add(row{mode: string(mode), path: "duplicate", perMsg: count(t, c, h, []events.SQSEvent{event("dup")}, event("dup"), false)})
			c, h = consumer(tables, 16)
			add(row{mode: string(mode), path: "duplicate, cache hit", perMsg: count(t, c, h, []events.SQSEvent{event("hit")}, event("hit"), false)})
			c, h = consumer(missing(tables), 0)
			add(row{mode: string(mode), path: "handler failure", perMsg: count(t, c, h, nil, event("fail"), true),
				note: "ledger write fails; the claim is released"})
			add(row{mode: string(mode), path: "lease lost", perMsg: leaseLost(t, mode, tables), note: leaseNote(mode)})
		})
	}
	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		counter := awstest.NewRequestCounter()
		db := awstest.DynamoDB(t, counter.Option)
		tables := newTables()
		h, err := bench.NewConsumer(bench.Consumer(ledger.ModeBatch), db, tables, 0)
		require.NoError(t, err)
		add(row{mode: "batch", path: "new", perMsg: count(t, counter, h, nil, event("b-new"), false), note: "a batch of 1"})
		full := bench.Batches("b-full", 100, 100, 10)[0]
		add(row{mode: "batch", path: "new", perMsg: count(t, counter, h, nil, full, false), note: "a batch of 100 (10 accounts)"})
		add(row{mode: "batch", path: "duplicate", perMsg: count(t, counter, h, nil, full, false), note: "the batch of 100 redelivered"})
		twice := bench.Batches("b-twice", 50, 50, 10)[0]
		for i := range 50 {
			r := twice.Records[i]
			r.MessageId += "-again"
			twice.Records = append(twice.Records, r)
		}
		add(row{mode: "batch", path: "duplicate in the batch", perMsg: count(t, counter, h, nil, twice, false), note: "50 events twice in a batch of 100"})
		fh, err := bench.NewConsumer(bench.Consumer(ledger.ModeBatch), db, missing(tables), 0)
		require.NoError(t, err)
		add(row{mode: "batch", path: "handler failure", perMsg: count(t, counter, fh, nil, bench.Batches("b-fail", 100, 100, 10)[0], true),
			note: "the transaction fails; nothing written"})
		add(row{mode: "batch", path: "lease lost", perMsg: map[string]float64{}, note: "no lease: records are written COMPLETED with the effect"})
	})
	t.Run("tx+ahead", func(t *testing.T) {
		t.Parallel()
		counter := awstest.NewRequestCounter()
		h, err := bench.NewConsumer(bench.TxAhead, awstest.DynamoDB(t, counter.Option), newTables(), 0)
		require.NoError(t, err)
		add(row{mode: "tx+ahead", path: "new", perMsg: count(t, counter, h, nil, event("a-new"), false), note: "a batch of 1"})
		full := bench.Batches("a-full", 100, 100, 10)[0]
		add(row{mode: "tx+ahead", path: "new", perMsg: count(t, counter, h, nil, full, false), note: "a batch of 100: one claim transaction, a completion each"})
		add(row{mode: "tx+ahead", path: "duplicate", perMsg: count(t, counter, h, nil, full, false), note: "the batch of 100 redelivered: the claim transaction replays all"})
	})
	t.Run("baseline", func(t *testing.T) {
		t.Parallel()
		counter := awstest.NewRequestCounter()
		h, err := bench.NewConsumer(bench.Baseline, awstest.DynamoDB(t, counter.Option), newTables(), 0)
		require.NoError(t, err)
		add(row{mode: "baseline", path: "new", perMsg: count(t, counter, h, nil, event("base"), false), note: "no idempotency"})
	})
	t.Cleanup(func() { check(t, rows) })
}

func leaseNote(mode ledger.Mode) string {
	if mode == ledger.ModeTx {
		return "fenced: the transaction writes nothing"
	}
	return "the ledger write happened; the completion is refused"
}

// leaseLost counts the requests of a worker whose claim is taken over while
// it works: its clock runs a minute behind and its lease is 1 ms.
func leaseLost(t *testing.T, mode ledger.Mode, tables bench.Tables) map[string]float64 {
	t.Helper()
	counter := awstest.NewRequestCounter()
	other, err := dynamostore.New(awstest.DynamoDB(t), tables.Idempotency)
	require.NoError(t, err)
	ev := event("lease-" + string(mode))
	e, err := ledger.Decode([]byte(ev.Records[0].Body))
	require.NoError(t, err)
	api := &takeover{API: awstest.DynamoDB(t, counter.Option), steal: func() {
		now := time.Now()
		_, err := other.Claim(context.Background(), idempotency.ClaimInput{
			Key: idempotency.StoredKey("payments", e.ID), Token: "other", Now: now, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour),
		})
		require.NoError(t, err)
	}}
	store, err := dynamostore.New(api, tables.Idempotency)
	require.NoError(t, err)
	guard, err := idempotency.NewGuard(store, idempotency.Config{
		KeyPrefix: "payments", Lease: time.Millisecond, MinLease: time.Millisecond,
		Clock: func() time.Time { return time.Now().Add(-time.Minute) },
	})
	require.NoError(t, err)
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	consumer, err := ledger.NewConsumer(ledger.ConsumerConfig{Guard: guard, DB: api, Table: tables.Ledger, Mode: mode, Logger: quiet})
	require.NoError(t, err)
	proc, err := sqsbatch.New(consumer.Handle, sqsbatch.Config{Logger: quiet})
	require.NoError(t, err)
	return count(t, counter, proc, nil, ev, true)
}

// check asserts the targets and writes the table when asked.
func check(t *testing.T, rows []row) {
	find := func(mode, path, note string) row {
		for _, r := range rows {
			if r.mode == mode && r.path == path && strings.HasPrefix(r.note, note) {
				return r
			}
		}
		t.Fatalf("no row %s/%s", mode, path)
		return row{}
	}
	require.Equal(t, map[string]float64{"PutItem": 1, "TransactWriteItems": 1}, find("tx", "new", "").perMsg)
	require.Equal(t, map[string]float64{"PutItem": 1}, find("tx", "duplicate", "").perMsg)
	require.Empty(t, find("tx", "duplicate, cache hit", "").perMsg)
	require.Equal(t, map[string]float64{"TransactWriteItems": 1}, find("batch", "new", "a batch of 1").perMsg)
	require.Less(t, find("batch", "new", "a batch of 100").total(), 0.2)
	require.Less(t, find("batch", "duplicate", "the batch of 100").total(), 0.2)
	require.Equal(t, map[string]float64{"TransactWriteItems": 1.01}, find("tx+ahead", "new", "a batch of 100").perMsg,
		"claimed ahead: one transaction claims 100 keys, then one completion each")
	require.Equal(t, map[string]float64{"TransactWriteItems": 0.01}, find("tx+ahead", "duplicate", "the batch of 100").perMsg)
	if *accountingOut == "" {
		return
	}
	order := map[string]int{"baseline": 0, "plain": 1, "tx": 2, "tx+ahead": 3, "batch": 4}
	sort.SliceStable(rows, func(i, j int) bool { return order[rows[i].mode] < order[rows[j].mode] })
	ops := []string{"PutItem", "UpdateItem", "DeleteItem", "GetItem", "TransactWriteItems"}
	var b strings.Builder
	b.WriteString("| mode | path | " + strings.Join(ops, " | ") + " | total | note |\n|---|---|" + strings.Repeat("--:|", len(ops)+1) + "---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |", r.mode, r.path)
		for _, op := range ops {
			fmt.Fprintf(&b, " %s |", num(r.perMsg[op]))
		}
		fmt.Fprintf(&b, " **%s** | %s |\n", num(r.total()), r.note)
	}
	require.NoError(t, os.WriteFile(*accountingOut, []byte(b.String()), 0o644))
}

func num(v float64) string {
	if v == 0 {
		return "0"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
