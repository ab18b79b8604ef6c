package reliability_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
	"github.com/sqsonce/sqsonce/internal/esm"
	"github.com/sqsonce/sqsonce/internal/rie"
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

// TestDuplicateStormWithKilledWorkers sends every event twice (the second
// time as a producer retry that adds an unknown field) with poison messages
// mixed in, to four real consumers under aws-lambda-rie polling one queue
// with a short visibility timeout, while a chaos loop SIGKILLs a random
// worker at random moments and restarts it. When the queue has drained,
// every valid event is in the ledger exactly once, every balance is its sum,
// every idempotency record is COMPLETED (none left INPROGRESS), and the DLQ
// holds the poison messages and nothing else.
func TestDuplicateStormWithKilledWorkers(t *testing.T) {
	t.Parallel()
	n := sized(300, 5000)
	const workers = 4
	bootstrapPath := consumerBootstrap(t)
	tb := newTables(t)
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{VisibilityTimeout: 2, MaxReceiveCount: 30})

	// The storm is random but repeatable: the seed of the shuffle and of the
	// kill schedule is printed, and SQSONCE_STORM_SEED replays it.
	seed := stormSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var rngMu sync.Mutex
	valid := makeEvents("storm", n, 25)
	poison := malformedBodies(max(n/50, 4))
	var bodies []string
	for _, e := range valid {
		bodies = append(bodies, e.body(), e.body(`"producer_attempt":2`))
	}
	bodies = append(bodies, poison...)
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	send(t, client, q.URL, bodies)

	// A function timeout of 3s makes a killed worker's lease at most 8s
	// (remaining time plus the 5s margin).
	env := consumerEnv(tb, q.DLQURL, "AWS_MAX_ATTEMPTS=3", "AWS_RETRY_MODE=standard")
	pool := make([]*worker, workers)
	invokers := make([]esm.Invoker, workers)
	for i := range pool {
		pool[i] = startWorker(t, rie.Config{Bootstrap: bootstrapPath, Env: env, FunctionTimeout: 3 * time.Second})
		invokers[i] = pool[i]
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
	require.NoError(t, err)
	require.NoError(t, chaosErr)

	requireExactlyOnce(t, tb, valid)
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
	msgs, classes := tally(lines, "msg"), tally(lines, "error_class")
	st := m.Stats()
	require.Positive(t, kills)
	figures := fmt.Sprintf("storm: seed=%d events=%d messages=%d (every event twice + %d poison) workers=%d kills=%d "+
		"deliveries=%d batches=%d batch-failures=%d applied=%d (logged %d) replayed=%d already-applied=%d "+
		"in-progress=%d dlq=%d (%d distinct) invocation p50=%s max=%s elapsed=%s",
		seed, n, len(bodies), len(poison), workers, kills, st.Received, st.Batches, st.BatchFailures, n,
		msgs["sqsonce: effect applied"], msgs["sqsonce: duplicate suppressed"], msgs["sqsonce: effect already applied"],
		classes["in-progress"], len(dlq), len(inDLQ), percentile(durations, 50), percentile(durations, 100),
		elapsed.Round(time.Second))
	t.Log(figures)
	fmt.Println("FIGURES", figures)
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
