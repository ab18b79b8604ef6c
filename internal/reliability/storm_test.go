package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// malformedBodies are poison messages of every kind the storm mixes in.
func malformedBodies(n int) []string {
	kinds := []func(i int) string{
		func(i int) string { return fmt.Sprintf(`{"id":"bad-%d","account":"acc-x"`, i) },
		func(i int) string {
			return fmt.Sprintf(`{"id":"bad-%d","account":"acc-x","amount":"ten","currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, i)
		},
		func(i int) string {
			return fmt.Sprintf(`{"id":"bad-%d","account":"acc-x","amount":0,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, i)
		},
		func(i int) string {
			return fmt.Sprintf(`{"id":"bad-%d","account":"acc-x","amount":5,"currency":"eur","occurred_at":"2026-11-27T10:00:00Z"}`, i)
		},
	}
	out := make([]string, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)](i)
	}
	return out
}

// stormCase is one configuration the storm runs on.
type stormCase struct {
	name string
	// redis runs the consumer on the Valkey/Redis store: the any-effect path
	// (claimed ahead, run under a lease, completion fenced).
	redis bool
	// fifo uses a FIFO queue, one message group per account, and also checks
	// each group's order.
	fifo bool
}

// TestDuplicateStormWithKilledWorkers sends every event twice (the second
// time as a producer retry that adds an unknown field) with poison messages
// mixed in, to four real consumers under aws-lambda-rie polling one queue
// with a short visibility timeout, while a chaos loop SIGKILLs a random
// worker at random moments and restarts it. When the queue has drained,
// every valid event is in the ledger exactly once, every balance is its sum,
// every idempotency record is COMPLETED (none left INPROGRESS), and the DLQ
// holds the poison messages and nothing else. It runs on both paths (the
// DynamoDB one, and the any-effect one on Valkey/Redis), and on a FIFO
// queue, where each group's events must also take effect in their order.
func TestDuplicateStormWithKilledWorkers(t *testing.T) {
	t.Parallel()
	for _, tc := range []stormCase{{name: "dynamodb"}, {name: "any-effect-redis", redis: true}, {name: "fifo", fifo: true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runStorm(t, tc)
		})
	}
}

func runStorm(t *testing.T, tc stormCase) {
	n := sized(300, 5000)
	if tc.name != "dynamodb" {
		n = sized(150, 2000)
	}
	const workers = 4
	const accounts = 25
	bootstrapPath := bootstraps.Path(t, bootstraps.Consumer)
	tb := newTables(t)
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: tc.fifo, VisibilityTimeout: 2, MaxReceiveCount: 30})

	// The storm is random but repeatable: the seed of the shuffle and of the
	// kill schedule is printed, and SQSONCE_STORM_SEED replays it.
	seed := stormSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var rngMu sync.Mutex
	valid := makeEvents("storm", n, accounts)
	poison := malformedBodies(max(n/50, 4))
	var msgs []producer.Message
	for _, e := range valid {
		msgs = append(msgs, stormMessage(tc, e, e.body(), "1"), stormMessage(tc, e, e.body(`"producer_attempt":2`), "2"))
	}
	for i, b := range poison {
		m := producer.Message{Body: b}
		if tc.fifo {
			// Each poison message alone in its group: a group waits for its
			// failed message (FIFO), and poison is not what the order check is about.
			m.GroupID, m.DedupID = fmt.Sprintf("poison-%d", i), fmt.Sprintf("poison-%d", i)
		}
		msgs = append(msgs, m)
	}
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	sendMessages(t, client, q.URL, msgs)

	// A function timeout of 3s makes a killed worker's lease at most 8s
	// (remaining time plus the 5s margin).
	extra := []string{"AWS_MAX_ATTEMPTS=3", "AWS_RETRY_MODE=standard"}
	var redisServer *redistest.Server
	if tc.redis {
		redisServer = redistest.Start(t)
		extra = append(extra, "IDEMPOTENCY_STORE=redis", "REDIS_URL=redis://"+redisServer.Addr())
	}
	standardDLQ := q.DLQURL
	if tc.fifo {
		standardDLQ = "" // a FIFO queue's DLQ is FIFO, and is the FIFO records' DLQ
		extra = append(extra, "PERMANENT_FIFO_DLQ_URL="+q.DLQURL)
	}
	env := consumerEnv(tb, standardDLQ, extra...)
	pool := make([]*worker, workers)
	order := &ackOrder{}
	invokers := make([]esm.Invoker, workers)
	for i := range pool {
		pool[i] = startWorker(t, rie.Config{Bootstrap: bootstrapPath, Env: env, FunctionTimeout: 3 * time.Second})
		invokers[i] = order.wrap(pool[i])
	}
	m, err := esm.New(esm.Config{QueueURL: q.URL, Client: client, Invokers: invokers, WaitTimeSeconds: 1})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), budget(4, 45))
	defer cancel()
	chaosCtx, stopChaos := context.WithCancel(ctx)
	var chaos sync.WaitGroup
	var chaosErr error
	maxKills := sized(12, 150) // then the tail drains without new stalls
	chaos.Go(func() {
		for range maxKills {
			// The chaos schedule: a kill at a random moment of whatever the
			// workers are doing, every 0.3-1.3s under `make test` (so the
			// short storm still sees all its kills) and every 1-3s under
			// `make chaos` (so they spread over the long one).
			wait := time.Duration(sized(300, 1000)) * time.Millisecond
			rngMu.Lock()
			wait += time.Duration(rng.Int64N(int64(sized(1000, 2000)))) * time.Millisecond
			victim := rng.IntN(workers)
			rngMu.Unlock()
			timer := time.NewTimer(wait)
			select {
			case <-chaosCtx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			if err := pool[victim].killAndRestart(chaosCtx); err != nil && chaosCtx.Err() == nil {
				chaosErr = err
				return
			}
		}
	})
	began := time.Now()
	err = m.RunUntilDrained(ctx, 2*time.Second)
	stopChaos()
	chaos.Wait()
	elapsed := time.Since(began)
	if err != nil {
		out := pool[0].out.String()
		t.Logf("a worker's last output:\n%s", out[max(0, len(out)-3000):])
	}
	require.NoError(t, err, "not drained: %+v; queue %v; DLQ %v", m.Stats(), depths(t, client, q.URL), depths(t, client, q.DLQURL))
	require.NoError(t, chaosErr)

	requireLedger(t, tb, valid)
	if tc.redis {
		requireCompletedInRedis(t, redisServer, valid)
	} else {
		requireCompleted(t, tb, valid)
	}
	if tc.fifo {
		order.requireGroupOrder(t, msgs)
	}
	dlq := drainQueue(t, client, q.DLQURL)
	inDLQ := map[string]bool{}
	for _, d := range dlq {
		inDLQ[d.Body] = true
		require.Equal(t, "invalid-event", d.Class, "DLQ message %q", d.Body)
	}
	require.Len(t, inDLQ, len(poison), "every poison message, and only those, in the DLQ")
	for _, b := range poison {
		require.True(t, inDLQ[b], "poison %q missing from the DLQ", b)
	}

	kills := 0
	var lines []map[string]any
	var durations []time.Duration
	for _, w := range pool {
		k, d := w.stats()
		kills += k
		durations = append(durations, d...)
		lines = append(lines, logLines(w.out.String())...)
	}
	logged, classes := tally(lines, "msg"), tally(lines, "error_class")
	st := m.Stats()
	require.Positive(t, kills)
	figures := fmt.Sprintf("storm %s: seed=%d events=%d messages=%d (every event twice + %d poison) workers=%d kills=%d "+
		"deliveries=%d batches=%d batch-failures=%d applied=%d (logged %d) replayed=%d already-applied=%d "+
		"in-progress=%d dlq=%d (%d distinct) invocation p50=%s max=%s elapsed=%s",
		tc.name, seed, n, len(msgs), len(poison), workers, kills, st.Received, st.Batches, st.BatchFailures, n,
		logged["sqsonce: effect applied"], logged["sqsonce: duplicate suppressed"], logged["sqsonce: effect already applied"],
		classes["in-progress"], len(dlq), len(inDLQ), percentile(durations, 50), percentile(durations, 100),
		elapsed.Round(time.Second))
	t.Log(figures)
	fmt.Println("FIGURES", figures)
}

// depths is a queue's approximate counts of visible and in-flight
// messages, for a failure's message.
func depths(t *testing.T, client *sqs.Client, url string) map[string]string {
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return out.Attributes
}

// stormMessage is a message of e with body; on a FIFO queue its group is
// the account and its deduplication ID names the attempt, so a producer's
// retry reaches the consumer (as one after SQS's 5-minute deduplication
// window does).
func stormMessage(tc stormCase, e event, body, attempt string) producer.Message {
	m := producer.Message{Body: body}
	if tc.fifo {
		m.GroupID, m.DedupID = e.Account, e.ID+"-"+attempt
	}
	return m
}

// ackOrder records, in the order invocations return, the event ids of the
// records each successful invocation did not report failed: the order in
// which the consumer took each message as done.
type ackOrder struct {
	mu    sync.Mutex
	acked []string // event ids
	trace []string // per invocation: the records of each group, acked or not, for a failure's message
}

func (o *ackOrder) wrap(next esm.Invoker) esm.Invoker {
	return esm.InvokerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		out, err := next.Invoke(ctx, payload)
		if err != nil {
			return out, err
		}
		var ev events.SQSEvent
		var resp events.SQSEventResponse
		if json.Unmarshal(payload, &ev) != nil || json.Unmarshal(out, &resp) != nil {
			return out, err // the mapping fails such a batch
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		var line []string
		for _, r := range ev.Records {
			var body struct{ ID string }
			if json.Unmarshal([]byte(r.Body), &body) != nil || body.ID == "" {
				continue
			}
			mark := "failed"
			if !failed[r.MessageId] {
				o.acked = append(o.acked, body.ID)
				mark = "acked"
			}
			line = append(line, fmt.Sprintf("%s/%s:%s(rc=%s)", r.Attributes["MessageGroupId"], body.ID, mark, r.Attributes["ApproximateReceiveCount"]))
		}
		o.trace = append(o.trace, fmt.Sprintf("%s invocation %d: %s", time.Now().Format("15:04:05.000"), len(o.trace), strings.Join(line, " ")))
		return out, err
	})
}

// requireGroupOrder checks that in each message group the events were first
// taken as done in the order they were sent: no event took effect while an
// earlier one of its group had not.
func (o *ackOrder) requireGroupOrder(t *testing.T, sent []producer.Message) {
	t.Helper()
	want := map[string][]string{}
	seen := map[string]bool{}
	for _, m := range sent {
		var body struct{ ID string }
		if json.Unmarshal([]byte(m.Body), &body) != nil || body.ID == "" || seen[body.ID] || strings.HasPrefix(m.GroupID, "poison") {
			continue
		}
		seen[body.ID] = true
		want[m.GroupID] = append(want[m.GroupID], body.ID)
	}
	group := map[string]string{}
	for g, ids := range want {
		for _, id := range ids {
			group[id] = g
		}
	}
	got := map[string][]string{}
	done := map[string]bool{}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range o.acked {
		if g, ok := group[id]; ok && !done[id] {
			done[id] = true
			got[g] = append(got[g], id)
		}
	}
	require.Len(t, got, len(want), "groups")
	for g, ids := range want {
		if !slices.Equal(ids, got[g]) {
			var trace []string
			for _, l := range o.trace {
				if strings.Contains(l, " "+g+"/") {
					trace = append(trace, l)
				}
			}
			require.Equal(t, ids, got[g], "the order of group %s; its invocations:\n%s", g, strings.Join(trace, "\n"))
		}
	}
}

// requireCompletedInRedis checks the Valkey/Redis store holds one COMPLETED
// record per event and nothing else.
func requireCompletedInRedis(t *testing.T, server *redistest.Server, want []event) {
	t.Helper()
	ctx := context.Background()
	c := server.Client()
	store, err := redisstore.New(ctx, c)
	require.NoError(t, err)
	for _, e := range want {
		rec, err := store.Get(ctx, idempotency.StoredKey(keyPrefix, e.ID))
		require.NoError(t, err, e.ID)
		require.Equal(t, idempotency.StatusCompleted, rec.Status, e.ID)
	}
	n, err := c.DBSize(ctx).Result()
	require.NoError(t, err)
	require.Equal(t, int64(len(want)), n, "one record per event and nothing else")
}

// stormSeed is SQSONCE_STORM_SEED, or a new seed; either way it is logged,
// and repeated when the test fails, so a failing storm can be replayed.
func stormSeed(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if v := os.Getenv("SQSONCE_STORM_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "SQSONCE_STORM_SEED")
	}
	t.Logf("storm seed %d (replay with SQSONCE_STORM_SEED=%d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the storm failed with seed %d: replay it with SQSONCE_STORM_SEED=%d", seed, seed)
		}
	})
	return seed
}
