package reliability_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// notificationsPrefix is the second consumer's IDEMPOTENCY_KEY_PREFIX.
const notificationsPrefix = "notifications"

// TestChainStorm runs the two-stage chain under chaos: every ledger event
// twice (a producer retry) on a FIFO queue grouped by account, to three
// real consumers that publish a BalanceChanged notification of each event
// through the outbox; the real relay on the outbox's stream; one real
// second consumer on the notifications' FIFO queue, keyed by the outbox's
// event IDs, applying them to a second ledger. A chaos loop SIGKILLs a
// random function (either consumer or the relay) at random moments, a
// store outage makes DynamoDB unreachable to all of them for a while, and
// at the end the relay reads the whole stream again (every notification
// sent twice). Then: the first ledger holds each event once, the outbox one
// item per event, all sent, the second ledger each event once with the
// same balances, and each account's notifications took effect in the order
// its events did.
func TestChainStorm(t *testing.T) {
	t.Parallel()
	n := sized(60, 1000)
	const accounts = 6
	ctx, cancel := context.WithTimeout(context.Background(), budget(5, 30))
	defer cancel()
	db, client := awstest.DynamoDB(t), awstest.SQS(t)
	stage1, stage2 := newTables(t), newTables(t)
	ob := awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})
	upd, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(ob),
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage}})
	require.NoError(t, err)
	streamARN := aws.ToString(upd.TableDescription.LatestStreamArn)
	q1 := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true, VisibilityTimeout: 2, MaxReceiveCount: 50})
	q2 := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true, VisibilityTimeout: 2, MaxReceiveCount: 50})

	seed := stormSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0xc4a1))
	var rngMu sync.Mutex
	valid := makeEvents("chain", n, accounts)
	var msgs []producer.Message
	fifo := stormCase{fifo: true}
	for _, e := range valid {
		msgs = append(msgs, stormMessage(fifo, e, e.body(), "1"), stormMessage(fifo, e, e.body(`"producer_attempt":2`), "2"))
	}
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	sendMessages(t, client, q1.URL, msgs)

	fast := []string{"AWS_MAX_ATTEMPTS=3", "AWS_RETRY_MODE=standard"}
	env1 := consumerEnv(stage1, "", append(fast, "PERMANENT_FIFO_DLQ_URL="+q1.DLQURL, "NOTIFY_QUEUE_URL="+q2.URL, "OUTBOX_TABLE="+ob)...)
	env2 := consumerEnv(stage2, "", append(fast, "PERMANENT_FIFO_DLQ_URL="+q2.DLQURL,
		"IDEMPOTENCY_KEY_PREFIX="+notificationsPrefix, "KEY_SOURCE=attribute:"+outbox.AttrEventID)...)
	envRelay := append(os.Environ(), append(fast, "OUTBOX_TABLE="+ob)...)
	consumer, relayPath := bootstraps.Path(t, bootstraps.Consumer), bootstraps.Path(t, bootstraps.Relay)
	start := func(path string, env []string) *worker {
		return startWorker(t, rie.Config{Bootstrap: path, Env: env, FunctionTimeout: 3 * time.Second})
	}
	first := []*worker{start(consumer, env1), start(consumer, env1), start(consumer, env1)}
	relay := start(relayPath, envRelay)
	second := start(consumer, env2)
	all := append(slices.Clone(first), relay, second)
	envs := map[*worker][]string{relay: envRelay, second: env2}
	for _, w := range first {
		envs[w] = env1
	}
	order := &ackOrder{}

	m1, err := esm.New(esm.Config{QueueURL: q1.URL, Client: client, Invokers: []esm.Invoker{first[0], first[1], first[2]}, WaitTimeSeconds: 1})
	require.NoError(t, err)
	m2, err := esm.New(esm.Config{QueueURL: q2.URL, Client: client, Invokers: []esm.Invoker{order.wrap(second)}, WaitTimeSeconds: 1})
	require.NoError(t, err)
	streams := dynamodbstreams.NewFromConfig(awstest.Config(t))
	newRelayMapping := func() *esm.StreamMapping {
		m, err := esm.NewStream(esm.StreamConfig{StreamARN: streamARN, Client: streams, Invoker: relay, PollInterval: 50 * time.Millisecond})
		require.NoError(t, err)
		return m
	}
	pass1 := newRelayMapping()
	runCtx, stopRuns := context.WithCancel(ctx)
	defer stopRuns()
	var runs sync.WaitGroup
	relayCtx, stopRelay := context.WithCancel(runCtx)
	pass1Done := make(chan struct{})
	runs.Go(func() { defer close(pass1Done); _ = pass1.Run(relayCtx) })
	runs.Go(func() { _ = m2.Run(runCtx) })

	// Chaos: SIGKILLs of any function, and one store outage of all of them.
	chaosCtx, stopChaos := context.WithCancel(ctx)
	var chaos sync.WaitGroup
	var chaosErr error
	kills := sized(10, 80)
	outageAt := kills / 2
	outage := time.Duration(sized(3, 10)) * time.Second
	closed := "AWS_ENDPOINT_URL_DYNAMODB=" + awstest.ClosedAddr(t)
	chaos.Go(func() {
		for k := range kills {
			rngMu.Lock()
			wait := time.Duration(sized(300, 1000)+rng.IntN(sized(1000, 2000))) * time.Millisecond
			victim := all[rng.IntN(len(all))]
			rngMu.Unlock()
			timer := time.NewTimer(wait)
			select {
			case <-chaosCtx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			if k == outageAt {
				for _, w := range all { // the store goes away for every function
					if err := restartWith(chaosCtx, w, append(slices.Clone(envs[w]), closed)); err != nil && chaosCtx.Err() == nil {
						chaosErr = err
						return
					}
				}
				timer := time.NewTimer(outage)
				select {
				case <-chaosCtx.Done():
				case <-timer.C:
				}
				for _, w := range all { // the store is back, also when the chaos ends meanwhile
					if err := restartWith(context.WithoutCancel(chaosCtx), w, envs[w]); err != nil {
						chaosErr = err
						return
					}
				}
				continue
			}
			if err := victim.killAndRestart(chaosCtx); err != nil && chaosCtx.Err() == nil {
				chaosErr = err
				return
			}
		}
	})
	began := time.Now()
	require.NoError(t, m1.RunUntilDrained(ctx, 2*time.Second), "stage 1 not drained: %+v; queue %v", m1.Stats(), depths(t, client, q1.URL))
	table := outbox.Table{Name: ob}
	require.Eventually(t, func() bool {
		s, items, err := outbox.Inspect(ctx, db, table)
		return err == nil && len(items) == n && s.Pending == 0
	}, budget(2, 10), 200*time.Millisecond, "the relay sent every item")
	stopRelay()
	<-pass1Done // one invocation at a time: the relay is one emulator
	records := pass1.Stats().Records

	// The relay reads the whole stream again: every notification is sent
	// again, as by a relay that never marked its items sent.
	pass2 := newRelayMapping()
	pass2Ctx, stopPass2 := context.WithCancel(runCtx)
	runs.Go(func() { _ = pass2.Run(pass2Ctx) })
	require.Eventually(t, func() bool { return pass2.Stats().Records >= records }, budget(2, 10), 200*time.Millisecond,
		"the second pass: %+v of %d records", pass2.Stats(), records)
	stopPass2()
	idle := 0
	require.Eventually(t, func() bool {
		d := depths(t, client, q2.URL)
		if d["ApproximateNumberOfMessages"] == "0" && d["ApproximateNumberOfMessagesNotVisible"] == "0" {
			idle++
		} else {
			idle = 0
		}
		return idle >= 3
	}, budget(2, 10), 500*time.Millisecond, "stage 2 drained")
	// The chaos ran until here: through the relay's passes and the second
	// stage, not only the first.
	stopChaos()
	chaos.Wait()
	require.NoError(t, chaosErr)
	require.Eventually(t, func() bool { // a last kill's redelivery
		d := depths(t, client, q2.URL)
		return d["ApproximateNumberOfMessages"] == "0" && d["ApproximateNumberOfMessagesNotVisible"] == "0"
	}, budget(2, 10), 500*time.Millisecond, "stage 2 drained after the chaos")
	stopRuns()
	runs.Wait()
	elapsed := time.Since(began)

	// Stage 1: each event once; one COMPLETED record each.
	requireExactlyOnce(t, stage1, valid)
	// The outbox: one item per event, under its stable ID, sent.
	s, items, err := outbox.Inspect(ctx, db, table)
	require.NoError(t, err)
	require.Len(t, items, n)
	require.Empty(t, s.Failed)
	ids := map[string]bool{}
	for _, it := range items {
		ids[it.ID] = true
		require.Equal(t, outbox.StatusSent, it.Status, it.ID)
	}
	for _, e := range valid {
		require.True(t, ids[outbox.EventID(keyPrefix, e.ID, 0)], "the notification of %s", e.ID)
	}
	// Stage 2: each notification applied once, the same balances, one
	// COMPLETED record per notification, each account in its order.
	requireLedger(t, stage2, valid)
	records2 := scanAll(t, db, stage2.idem)
	require.Len(t, records2, n)
	for _, r := range records2 {
		require.Equal(t, string(idempotency.StatusCompleted), attrString(r, dynamostore.AttrStatus))
	}
	order.requireGroupOrder(t, msgs)
	require.Empty(t, drainQueue(t, client, q1.DLQURL))
	require.Empty(t, drainQueue(t, client, q2.DLQURL))

	killed := 0
	var lines1, linesRelay, lines2 []map[string]any
	for _, w := range all {
		k, _ := w.stats()
		killed += k
	}
	for _, w := range first {
		lines1 = append(lines1, logLines(w.out.String())...)
	}
	linesRelay, lines2 = logLines(relay.out.String()), logLines(second.out.String())
	sent, refused := 0, 0
	for _, l := range linesRelay {
		if v, ok := l[outbox.MetricSent].(float64); ok {
			sent += int(v)
			refused += int(l[outbox.MetricRefused].(float64))
		}
	}
	require.Zero(t, refused)
	require.GreaterOrEqual(t, sent, 2*n, "every notification sent at least twice (two passes)")
	logged1, logged2 := tally(lines1, "msg"), tally(lines2, "msg")
	figures := fmt.Sprintf("chain storm: seed=%d events=%d messages=%d (every event twice) functions=5 (3 consumers, relay, second consumer) "+
		"kills=%d (outage %s, every function restarted twice) stage1 applied=%d replayed=%d deliveries=%d; relay sends=%d "+
		"(stream records pass1=%d pass2=%d); stage2 applied=%d replayed=%d deliveries=%d; elapsed=%s",
		seed, n, len(msgs), killed, outage, logged1["sqsonce: effect applied"], logged1["sqsonce: duplicate suppressed"], m1.Stats().Received,
		sent, records, pass2.Stats().Records, logged2["sqsonce: effect applied"], logged2["sqsonce: duplicate suppressed"], m2.Stats().Received,
		elapsed.Round(time.Second))
	t.Log(figures)
	fmt.Println("FIGURES", figures)
}

// restartWith SIGKILLs w's function and starts it again with env: a store
// outage (an unreachable endpoint) or its end.
func restartWith(ctx context.Context, w *worker, env []string) error {
	w.mu.Lock()
	w.cfg.Env = env
	w.mu.Unlock()
	return w.killAndRestart(ctx)
}
