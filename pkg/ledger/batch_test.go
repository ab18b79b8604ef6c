package ledger_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// batchStack is a BatchConsumer on its own tables on the local AWS.
type batchStack struct {
	stack
	idem string
}

func newBatchStack(t *testing.T) batchStack {
	t.Helper()
	db := awstest.DynamoDB(t)
	return batchStack{stack: stack{db: db, ledger: awstest.NewTable(t, db, awstest.LedgerTable)},
		idem: awstest.NewTable(t, db, awstest.IdempotencyTable)}
}

// consumer returns a new BatchConsumer (a worker) on the stack's tables.
func (st batchStack) consumer(t *testing.T, keys string, maxActions int, db ledger.BatchAPI) *ledger.BatchConsumer {
	t.Helper()
	src, err := sqskey.Parse(keys)
	require.NoError(t, err)
	if db == nil {
		db = st.db
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	c, err := ledger.NewBatchConsumer(ledger.BatchConfig{
		DB: db, IdempotencyTable: st.idem, Table: st.ledger, KeyPrefix: "payments",
		Keys: src, MaxActions: maxActions, Logger: quiet,
	})
	require.NoError(t, err)
	return c
}

// The events/ fixtures through ModeBatch leave the ledger, the reported
// failures and the replay counts that ModeTx leaves (TestFixtures holds
// what those are), duplicates within a batch included.
func TestBatchFixturesMatchTxMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		files []string
		keys  string
	}{
		{files: []string{"single.json"}},
		{files: []string{"batch-10.json"}},
		{files: []string{"duplicate-in-batch.json"}},
		{files: []string{"single.json", "producer-retry.json", "redelivery.json"}},
		{files: []string{"single.json", "producer-retry.json", "redelivery.json"}, keys: "message-id"},
		{files: []string{"fifo-two-groups.json"}},
		{files: []string{"malformed.json"}},
	} {
		t.Run(fmt.Sprint(tc.files, tc.keys), func(t *testing.T) {
			t.Parallel()
			tx := newStack(t, ledger.ModeTx, tc.keys, 1, false)
			st := newBatchStack(t)
			batch := st.consumer(t, tc.keys, 0, nil)
			for _, f := range tc.files {
				want, err := tx.proc.Handle(context.Background(), loadEvent(t, f))
				require.NoError(t, err)
				got, err := batch.Handle(context.Background(), loadEvent(t, f))
				require.NoError(t, err)
				require.Equal(t, failures(want), failures(got), f)
			}
			want, err := ledger.Snapshot(context.Background(), tx.db, tx.ledger)
			require.NoError(t, err)
			got, err := ledger.Snapshot(context.Background(), st.db, st.ledger)
			require.NoError(t, err)
			for _, a := range append(slices.Collect(maps.Values(want)), slices.Collect(maps.Values(got))...) {
				slices.Sort(a.Entries)
			}
			require.Equal(t, want, got)
			require.NotEmpty(t, got)
			w, g := tx.consumer.Stats(), batch.Stats()
			require.Equal(t, []int64{w.Executed, w.Replayed, w.AlreadyApplied, w.Invalid},
				[]int64{g.Executed, g.Replayed, g.AlreadyApplied, g.Invalid}, "executed, replayed, already applied, invalid")
		})
	}
}

// message returns an SQS record of a valid event.
func message(msgID, evID, account string, amount int64) events.SQSMessage {
	return events.SQSMessage{
		MessageId: msgID,
		Body: fmt.Sprintf(`{"id":%q,"account":%q,"amount":%d,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`,
			evID, account, amount),
	}
}

// Two workers given overlapping batches at once, with duplicates within the
// batches, small transactions (so a batch spans several, some on the same
// balance items) and redeliveries of what they report: every event is
// applied exactly once.
func TestBatchConcurrentOverlappingBatches(t *testing.T) {
	t.Parallel()
	st := newBatchStack(t)
	const events_, accounts = 60, 4
	all := make([]events.SQSMessage, events_)
	want := map[string]want{}
	for i := range all {
		acc := fmt.Sprintf("acc-%d", i%accounts)
		all[i] = message(fmt.Sprintf("m-%d", i), fmt.Sprintf("evt-%d", i), acc, int64(i+1))
		w := want[acc]
		w.balance += int64(i + 1)
		w.entries = append(w.entries, fmt.Sprintf("evt-%d", i))
		want[acc] = w
	}
	// Worker A gets events 0..39, worker B 20..59; each batch repeats a few
	// events under new message IDs.
	batchOf := func(from, to int, rng *rand.Rand) events.SQSEvent {
		recs := append([]events.SQSMessage(nil), all[from:to]...)
		for k := range 5 {
			dup := all[from+rng.IntN(to-from)]
			dup.MessageId = fmt.Sprintf("%s-dup-%d", dup.MessageId, k)
			recs = append(recs, dup)
		}
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		return events.SQSEvent{Records: recs}
	}
	workers := []*ledger.BatchConsumer{
		st.consumer(t, "", 10, awstest.DynamoDB(t)),
		st.consumer(t, "", 16, awstest.DynamoDB(t)),
	}
	batches := []events.SQSEvent{batchOf(0, 40, rand.New(rand.NewPCG(1, 2))), batchOf(20, 60, rand.New(rand.NewPCG(3, 4)))}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ev := batches[w]
			for range 5 { // redeliver what was reported, as SQS would
				resp, err := workers[w].Handle(context.Background(), ev)
				if err != nil || len(resp.BatchItemFailures) == 0 {
					return
				}
				failed := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				var again []events.SQSMessage
				for _, r := range ev.Records {
					if failed[r.MessageId] {
						again = append(again, r)
					}
				}
				ev = events.SQSEvent{Records: again}
			}
		})
	}
	wg.Wait()
	requireLedger(t, st.stack, want)
	var executed, replayed, already int64
	for _, w := range workers {
		s := w.Stats()
		executed, replayed, already = executed+s.Executed, replayed+s.Replayed, already+s.AlreadyApplied
	}
	require.EqualValues(t, events_, executed+already, "each event applied once")
	require.EqualValues(t, 0, already, "the records, not the entries, caught the duplicates")
	require.EqualValues(t, 20+10, replayed, "the overlap and the in-batch duplicates replayed")
}

// ModeBatch and ModeTx share keys: what one applied, the other replays, and
// a batch record reads as any completed record.
func TestBatchSharesRecordsWithTxMode(t *testing.T) {
	t.Parallel()
	st := newBatchStack(t)
	store, err := dynamostore.New(st.db, st.idem)
	require.NoError(t, err)
	guard, err := idempotency.NewGuard(store, idempotency.Config{KeyPrefix: "payments"})
	require.NoError(t, err)
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tx, err := ledger.NewConsumer(ledger.ConsumerConfig{Guard: guard, Table: st.ledger, Logger: quiet})
	require.NoError(t, err)
	batch := st.consumer(t, "", 0, nil)
	ctx := context.Background()

	require.NoError(t, tx.Handle(ctx, message("m-1", "evt-1", "acc-1", 10)))
	resp, err := batch.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		message("m-1", "evt-1", "acc-1", 10), message("m-2", "evt-2", "acc-1", 5),
	}})
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, ledger.Stats{Executed: 1, Replayed: 1}, batch.Stats())
	require.NoError(t, tx.Handle(ctx, message("m-2", "evt-2", "acc-1", 5)))
	require.EqualValues(t, 1, tx.Stats().Replayed)

	rec, err := store.Get(ctx, idempotency.StoredKey("payments", "evt-2"))
	require.NoError(t, err)
	require.Equal(t, idempotency.StatusCompleted, rec.Status)
	require.NotEmpty(t, rec.PayloadHash)
	require.JSONEq(t, `{"applied":5}`, string(rec.Result))
	require.WithinDuration(t, time.Now().Add(idempotency.TTLDefault), rec.ExpiresAt, time.Minute)
	requireLedger(t, st.stack, map[string]want{"acc-1": {15, []string{"evt-1", "evt-2"}}})
}

// A claim of another mode: live, the event is left for a redelivery; past
// its lease (a zombie), the batch takes it over and the zombie's fenced
// completion writes nothing.
func TestBatchInProgressAndZombieClaims(t *testing.T) {
	t.Parallel()
	st := newBatchStack(t)
	store, err := dynamostore.New(st.db, st.idem)
	require.NoError(t, err)
	ctx := context.Background()
	now := time.Now()
	claim := func(evID string, leaseUntil time.Time) string {
		in := idempotency.ClaimInput{
			Key: idempotency.StoredKey("payments", evID), Token: evID + "-token", Now: now.Add(-time.Minute),
			LeaseUntil: leaseUntil, ExpiresAt: now.Add(time.Hour),
		}
		_, err := store.Claim(ctx, in)
		require.NoError(t, err)
		return in.Key
	}
	liveKey := claim("evt-live", now.Add(time.Hour))
	zombieKey := claim("evt-zombie", now.Add(-time.Second))

	c := st.consumer(t, "", 0, nil)
	resp, err := c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		message("m-live", "evt-live", "acc-1", 7), message("m-zombie", "evt-zombie", "acc-1", 3),
	}})
	require.NoError(t, err)
	require.Equal(t, []string{"m-live"}, failures(resp))
	require.Equal(t, ledger.Stats{Executed: 1, Retryable: 1}, c.Stats())

	zombie := ledger.Writes(st.ledger, ledger.Event{ID: "evt-zombie-2", Account: "acc-1", Amount: 100, Currency: "EUR"})
	err = store.CompleteTx(ctx, zombieKey, "evt-zombie-token", nil, now.Add(time.Hour), zombie)
	require.ErrorIs(t, err, idempotency.ErrLeaseLost)
	require.NoError(t, store.Release(ctx, liveKey, "evt-live-token"))

	resp, err = c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{message("m-live", "evt-live", "acc-1", 7)}})
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	requireLedger(t, st.stack, map[string]want{"acc-1": {10, []string{"evt-live", "evt-zombie"}}})
}

// A key reused with another payload, across and within batches, is a
// permanent failure; the first payload stays applied.
func TestBatchPayloadMismatch(t *testing.T) {
	t.Parallel()
	st := newBatchStack(t)
	c := st.consumer(t, "", 0, nil)
	ctx := context.Background()
	_, err := c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{message("m-1", "evt-1", "acc-1", 10)}})
	require.NoError(t, err)
	rep, err := c.Process(ctx, events.SQSEvent{Records: []events.SQSMessage{
		message("m-2", "evt-1", "acc-1", 99),
		message("m-3", "evt-3", "acc-1", 1), message("m-4", "evt-3", "acc-1", 2),
	}})
	require.NoError(t, err)
	require.Equal(t, []string{"m-2", "m-4"}, failures(rep.Response))
	for _, id := range []string{"m-2", "m-4"} {
		o, ok := rep.Outcome(id)
		require.True(t, ok)
		require.Equal(t, sqsbatch.OutcomePermanent, o)
	}
	require.Equal(t, ledger.Stats{Executed: 2, Mismatched: 2}, c.Stats())
	requireLedger(t, st.stack, map[string]want{"acc-1": {11, []string{"evt-1", "evt-3"}}})
}

// A full batch of 100 new events costs a few transactions, and each
// transaction stays within DynamoDB's 100 actions.
func TestBatchRequestsPerNewMessage(t *testing.T) {
	t.Parallel()
	st := newBatchStack(t)
	counter := awstest.NewRequestCounter()
	c := st.consumer(t, "", 0, awstest.DynamoDB(t, counter.Option))
	recs := make([]events.SQSMessage, 100)
	for i := range recs {
		recs[i] = message(fmt.Sprintf("m-%d", i), fmt.Sprintf("evt-%d", i), fmt.Sprintf("acc-%d", i%7), 1)
	}
	resp, err := c.Handle(context.Background(), events.SQSEvent{Records: recs})
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, map[string]int{"TransactWriteItems": 3}, counter.Counts())
	require.Less(t, float64(counter.Total())/100, 0.2)
}

// conflictDB cancels the first transactions with TransactionConflict.
type conflictDB struct {
	mu        sync.Mutex
	conflicts int
	calls     int
}

func (d *conflictDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.calls > d.conflicts {
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	code := "TransactionConflict"
	reasons[len(reasons)-1].Code = &code
	return nil, &types.TransactionCanceledException{CancellationReasons: reasons}
}

func (d *conflictDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{}, nil
}

// TransactionConflict is retried with backoff up to ConflictAttempts, then
// left for a redelivery as a store failure; a cancelled context stops it.
func TestBatchTransactionConflict(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, tc := range []struct {
		name      string
		conflicts int
		cancel    bool
		failed    bool
		calls     int
	}{
		{name: "conflicts then success", conflicts: 2, calls: 3},
		{name: "conflicts past the attempts", conflicts: 10, failed: true, calls: 3},
		{name: "cancelled context", conflicts: 10, cancel: true, failed: true, calls: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := &conflictDB{conflicts: tc.conflicts}
			c, err := ledger.NewBatchConsumer(ledger.BatchConfig{
				DB: db, IdempotencyTable: "idem", Table: "ledger", KeyPrefix: "payments",
				ConflictAttempts: 3, ConflictBackoff: time.Millisecond, Logger: quiet,
			})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			resp, err := c.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{message("m-1", "evt-1", "acc-1", 1)}})
			require.NoError(t, err)
			require.Equal(t, tc.failed, len(resp.BatchItemFailures) == 1)
			require.Equal(t, tc.calls, db.calls)
		})
	}
}

// COMPLETION_MODE=batch makes NewApp's handler a BatchConsumer.
func TestBatchModeApp(t *testing.T) {
	t.Parallel()
	env := map[string]string{"IDEMPOTENCY_TABLE": "idem", "LEDGER_TABLE": "ledger", "COMPLETION_MODE": "batch"}
	cfg, err := ledger.LoadAppConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, ledger.ModeBatch, cfg.Mode)
	h, consumer, err := ledger.NewApp(cfg, ledger.AppClients{DynamoDB: awstest.DynamoDB(t)}, io.Discard)
	require.NoError(t, err)
	require.Nil(t, consumer)
	require.IsType(t, &ledger.BatchConsumer{}, h)
}
