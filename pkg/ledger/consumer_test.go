package ledger_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// stack is the real consumer on its own tables on the local AWS.
type stack struct {
	proc     ledger.Handler
	consumer *ledger.Consumer
	db       *dynamodb.Client
	ledger   string
}

func newStack(t *testing.T, mode ledger.Mode, keys string, concurrency int, claimAhead bool) stack {
	t.Helper()
	db := awstest.DynamoDB(t)
	store, err := dynamostore.New(db, awstest.NewTable(t, db, awstest.IdempotencyTable))
	require.NoError(t, err)
	guard, err := idempotency.NewGuard(store, idempotency.Config{KeyPrefix: "payments"})
	require.NoError(t, err)
	src, err := sqskey.Parse(keys)
	require.NoError(t, err)
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	st := stack{db: db, ledger: awstest.NewTable(t, db, awstest.LedgerTable)}
	st.consumer, err = ledger.NewConsumer(ledger.ConsumerConfig{Guard: guard, DB: db, Table: st.ledger, Mode: mode, Keys: src, Logger: quiet})
	require.NoError(t, err)
	proc, err := sqsbatch.New(st.consumer.Handle, sqsbatch.Config{Concurrency: concurrency, IsOutage: ledger.IsOutage, Logger: quiet})
	st.proc = proc
	if claimAhead {
		st.proc = st.consumer.ClaimAhead(proc)
	}
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
	got, err := ledger.Snapshot(context.Background(), st.db, st.ledger)
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
		replayed     int64
		already      int64 // applied before, caught by the ledger's own entry condition
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
		for _, v := range []struct {
			mode       ledger.Mode
			claimAhead bool
		}{{ledger.ModeTx, false}, {ledger.ModePlain, false}, {ledger.ModeTx, true}, {ledger.ModePlain, true}} {
			mode := v.mode
			name := tc.name + "/" + string(mode)
			if v.claimAhead {
				name += "+claim-ahead"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				// One record at a time, so a duplicate within a batch finds its
				// twin completed (concurrent twins are covered elsewhere).
				st := newStack(t, mode, tc.keys, 1, v.claimAhead)
				var resp events.SQSEventResponse
				for _, f := range tc.files {
					var err error
					resp, err = st.proc.Handle(context.Background(), loadEvent(t, f))
					require.NoError(t, err)
				}
				want := tc.wantFailures
				if want == nil {
					want = []string{}
				}
				require.Equal(t, want, failures(resp))
				requireLedger(t, st, tc.ledger)
				require.Equal(t, tc.replayed, st.consumer.Stats().Replayed)
				require.Equal(t, tc.already, st.consumer.Stats().AlreadyApplied)
			})
		}
	}
}
