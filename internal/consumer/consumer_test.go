package consumer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/ledgerscan"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// stack is the real consumer on its own tables on the local AWS.
type stack struct {
	handler *sqsonce.Handler[ledger.Receipt]
	db      *dynamodb.Client
	ledger  string
	idem    string // the idempotency table
}

func newStack(t *testing.T, keys string) stack {
	t.Helper()
	db := awstest.DynamoDB(t)
	src, err := sqskey.Parse(keys)
	require.NoError(t, err)
	st := stack{db: db, ledger: awstest.NewTable(t, db, awstest.LedgerTable), idem: awstest.NewTable(t, db, awstest.IdempotencyTable)}
	st.handler, err = consumer.New(consumer.Config{
		IdempotencyTable: st.idem, LedgerTable: st.ledger,
		KeyPrefix: "payments", TTL: time.Hour, Keys: src, Concurrency: 4, CacheSize: 16, BreakAfter: 3,
	}, consumer.Clients{DynamoDB: db}, io.Discard)
	require.NoError(t, err)
	return st
}

func loadEvent(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	var ev events.SQSEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

func failures(resp events.SQSEventResponse) []string {
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// want is an account's expected state: its balance and its entries.
type want struct {
	balance int64
	entries []string
}

func requireLedger(t *testing.T, st stack, accounts map[string]want) {
	t.Helper()
	got, err := ledgerscan.Snapshot(context.Background(), st.db, st.ledger)
	require.NoError(t, err)
	require.Len(t, got, len(accounts))
	for name, w := range accounts {
		a := got[name]
		require.NotNil(t, a, "account %s", name)
		sort.Strings(a.Entries)
		sort.Strings(w.entries)
		require.Equal(t, w.entries, a.Entries, "entries of %s", name)
		require.Equal(t, w.balance, a.Balance, "balance of %s", name)
		require.Equal(t, a.Sum, a.Balance, "balance of %s equals the sum of its entries", name)
		require.EqualValues(t, len(a.Entries), a.Counted, "entry count of %s", name)
	}
}

// Every fixture in events/ through the real consumer, in both modes: the
// batchItemFailures and the ledger afterwards are those events/README.md
// promises.
func TestFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		files        []string
		keys         string
		wantFailures []string // of the last file
		ledger       map[string]want
		replayed     int
		already      int // applied before, caught by the ledger's own entry condition
	}{
		{name: "single", files: []string{"single.json"},
			ledger: map[string]want{"acc-1": {250, []string{"evt-1"}}}},
		{name: "batch of 10", files: []string{"batch-10.json"},
			ledger: map[string]want{
				"acc-2": {830, []string{"evt-101", "evt-104", "evt-107", "evt-110"}},
				"acc-3": {12000, []string{"evt-102", "evt-105", "evt-108"}},
				"acc-4": {700, []string{"evt-103", "evt-106", "evt-109"}},
			}},
		{name: "same event twice in one batch", files: []string{"duplicate-in-batch.json"},
			ledger: map[string]want{"acc-5": {400, []string{"evt-201", "evt-202"}}}, replayed: 1},
		{name: "producer retry and redelivery", files: []string{"single.json", "producer-retry.json", "redelivery.json"},
			ledger: map[string]want{"acc-1": {250, []string{"evt-1"}}}, replayed: 2},
		// A message-id key does not see that the producer's retry is the same
		// event; the ledger's conditional entry put still applies it once.
		{name: "message-id key and a producer retry", keys: "message-id",
			files:  []string{"single.json", "producer-retry.json", "redelivery.json"},
			ledger: map[string]want{"acc-1": {250, []string{"evt-1"}}}, replayed: 1, already: 1},
		{name: "FIFO two groups", files: []string{"fifo-two-groups.json"},
			ledger: map[string]want{
				"acc-A": {75, []string{"evt-501", "evt-503", "evt-505"}},
				"acc-B": {2500, []string{"evt-502", "evt-504", "evt-506"}},
			}},
		{name: "malformed and invalid bodies", files: []string{"malformed.json"},
			wantFailures: []string{
				"d4c40671-93b8-4879-a8ad-36500b29433b", "70bd63b2-7483-488f-84cc-8fd547b8267f",
				"c220d2ca-7433-4682-8baa-5ebd5f1aecd3", "77925461-ff95-488c-bd1b-7c5746ac86fb",
				"9bf30258-cad5-4a76-919d-a1535e972084", "e92e7162-f2f3-4ff1-9808-db9b1cc7ae3d",
			},
			ledger: map[string]want{"acc-6": {70, []string{"evt-401", "evt-408"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t, tc.keys)
			var resp events.SQSEventResponse
			for _, f := range tc.files {
				var err error
				resp, err = st.handler.Handle(context.Background(), loadEvent(t, f))
				require.NoError(t, err)
			}
			want := tc.wantFailures
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, failures(resp))
			requireLedger(t, st, tc.ledger)
			require.Equal(t, tc.replayed, st.handler.Totals().Replayed)
			require.Equal(t, tc.already, st.handler.Totals().AlreadyApplied)
		})
	}
}

// sqsEvent is a batch of ledger events, each in its own message.
func sqsEvent(ids []string, bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: ids[i], Body: b, EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events"})
	}
	return ev
}

// When the key does not catch a repeat of an event (a message-id key, or an
// expired record), the ledger's own entry decides: the same event is
// "already applied" and its key completed, so later copies replay at the
// cost of one request; an event id reused with another amount is never
// acknowledged: it is a permanent payload mismatch, and nothing is written.
func TestRepeatedEventIdIsJudgedByItsEntry(t *testing.T) {
	t.Parallel()
	st := newStack(t, "message-id")
	ctx := context.Background()
	body := func(amount int) string {
		return fmt.Sprintf(`{"id":"evt-9","account":"acc-9","amount":%d,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, amount)
	}
	resp, err := st.handler.Handle(ctx, sqsEvent([]string{"m-1"}, body(250)))
	require.NoError(t, err)
	require.Empty(t, failures(resp))

	report, err := st.handler.Process(ctx, sqsEvent([]string{"m-2", "m-3"}, body(999), body(250)))
	require.NoError(t, err)
	require.Equal(t, []string{"m-2"}, failures(report.Response), "a changed payload is reported, never acknowledged")
	require.Equal(t, 1, report.Counts.PayloadMismatch)
	require.Equal(t, 1, report.Counts.AlreadyApplied)
	requireLedger(t, st, map[string]want{"acc-9": {250, []string{"evt-9"}}})

	counter := awstest.NewRequestCounter()
	st2 := st
	st2.handler, err = consumer.New(consumer.Config{
		IdempotencyTable: st.idem, LedgerTable: st.ledger, KeyPrefix: "payments", TTL: time.Hour,
		Keys: sqskey.Source{Kind: sqskey.MessageID}, Concurrency: 4,
	}, consumer.Clients{DynamoDB: awstest.DynamoDB(t, counter.Option)}, io.Discard)
	require.NoError(t, err)
	report, err = st2.handler.Process(ctx, sqsEvent([]string{"m-3"}, body(250)))
	require.NoError(t, err)
	require.Empty(t, failures(report.Response))
	require.Equal(t, 1, report.Counts.Replayed, "the already-applied key was completed")
	require.Equal(t, map[string]int{"TransactWriteItems": 1}, counter.Counts(), "a later copy costs one request")
}

// The consumer keeps its records in a shared table (composite key, sharded
// partition values) as well as in a table of its own.
func TestConsumerOnASharedTable(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	st := stack{db: db, ledger: awstest.NewTable(t, db, awstest.LedgerTable),
		idem: awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "ttl"})}
	var err error
	st.handler, err = consumer.New(consumer.Config{
		IdempotencyTable: st.idem, LedgerTable: st.ledger, KeyPrefix: "payments", TTL: time.Hour, Concurrency: 4,
		Layout: dynamostore.Layout{KeyAttr: "pk", SortKeyAttr: "sk", ExpirationAttr: "ttl"},
	}, consumer.Clients{DynamoDB: db}, io.Discard)
	require.NoError(t, err)
	for range 2 { // the second time, every event is a duplicate
		resp, err := st.handler.Handle(context.Background(), loadEvent(t, "batch-10.json"))
		require.NoError(t, err)
		require.Empty(t, failures(resp))
	}
	require.Equal(t, 10, st.handler.Totals().Executed)
	require.Equal(t, 10, st.handler.Totals().Replayed)
	requireLedger(t, st, map[string]want{
		"acc-2": {830, []string{"evt-101", "evt-104", "evt-107", "evt-110"}},
		"acc-3": {12000, []string{"evt-102", "evt-105", "evt-108"}},
		"acc-4": {700, []string{"evt-103", "evt-106", "evt-109"}},
	})
}
