package reliability_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/internal/testenv/faultproxy"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// TestLongStoreOutagePausesConsumption cuts the idempotency store (DynamoDB;
// Valkey/Redis on the any-effect path) for at least ten times
// maxReceiveCount x the visibility timeout, under load, with consumers that
// pause on a store outage (PAUSE_ON_STORE_OUTAGE) and a probe run every
// second, as the template's schedule does every minute. Without the pause,
// every message still queued would be received maxReceiveCount times during
// the outage and dead-lettered. With it: the consumers disable their event
// source mapping, the local mapping stops receiving, the probe enables it
// once the store answers, and every event is applied exactly once with no
// message in the DLQ.
func TestLongStoreOutagePausesConsumption(t *testing.T) {
	t.Parallel()
	t.Run("dynamodb", func(t *testing.T) {
		t.Parallel()
		tb := newTables(t)
		runPause(t, tb, dynamoOutageStore(tb))
	})
	t.Run("any-effect-redis", func(t *testing.T) {
		t.Parallel()
		tb := newTables(t)
		runPause(t, tb, redisOutageStore(t, "pause"))
	})
}

func runPause(t *testing.T, tb tables, store outageStore) {
	const (
		visibility     = 1 // second
		maxReceives    = 8 // the receives a message may spend before the pause and while held after it
		probeEvery     = time.Second
		resumeBound    = 30 * time.Second // probe interval, state check, emulator start: far above
		pauseAfter     = "2s"
		functionTimout = 10 * time.Second
	)
	n := sized(150, 1500)
	outage := time.Duration(sized(10, 20)*maxReceives*visibility) * time.Second
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{VisibilityTimeout: visibility, MaxReceiveCount: maxReceives})
	fn := awstest.NewFunction(t)
	uuid := aws.ToString(awstest.NewMapping(t, fn, q.ARN).UUID)
	lam := awstest.Lambda(t)
	proxy, err := faultproxy.Start(store.upstream(t))
	require.NoError(t, err)
	t.Cleanup(proxy.Close)

	valid := makeEvents("pause", n, 10)
	bodies := make([]string, len(valid))
	for i, e := range valid {
		bodies[i] = e.body()
	}
	send(t, client, q.URL, bodies)

	env := consumerEnv(tb, q.DLQURL, append(store.env(proxy), "BREAK_AFTER=3", "CONCURRENCY=2",
		"PAUSE_ON_STORE_OUTAGE=true", "PAUSE_AFTER="+pauseAfter, "AWS_LAMBDA_FUNCTION_NAME="+fn.Name)...)
	bootstrapPath := bootstraps.Path(t, bootstraps.Consumer)
	start := func() *worker {
		return startWorker(t, rie.Config{Bootstrap: bootstrapPath, Env: env, FunctionTimeout: functionTimout})
	}
	pool := []*worker{start(), start()}
	prober := start()
	m, err := esm.New(esm.Config{QueueURL: q.URL, Client: client, Invokers: []esm.Invoker{pool[0], pool[1]}, WaitTimeSeconds: 1,
		Lambda: lam, MappingUUID: uuid, StateCheckInterval: 250 * time.Millisecond})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), budget(5, 30))
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- m.RunUntilDrained(ctx, 3*time.Second) }()

	// The schedule: the probe runs every probeEvery in its own environment.
	probeCtx, stopProbe := context.WithCancel(ctx)
	var probes sync.WaitGroup
	probes.Go(func() {
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for {
			select {
			case <-probeCtx.Done():
				return
			case <-tick.C:
			}
			_, _ = prober.Invoke(probeCtx, []byte(sqsonce.ProbeEvent))
		}
	})
	defer func() { stopProbe(); probes.Wait() }()

	state := func() string {
		out, err := lam.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
		require.NoError(t, err)
		return aws.ToString(out.State)
	}
	waitFor := func(what string, cond func() bool) time.Duration {
		began := time.Now()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: not within the test's budget", what)
			case <-tick.C:
			}
		}
		return time.Since(began)
	}

	// A quarter applied, then the store goes away for the outage.
	waitFor("a quarter applied", func() bool {
		applied, err := claimedOnly(ctx, tb, outageStore{statuses: store.statuses, allowed: []idempotency.Status{idempotency.StatusCompleted, idempotency.StatusInProgress}})
		require.NoError(t, err)
		return applied >= n/4
	})
	proxy.Cut()
	cutAt := time.Now()
	toPause := waitFor("consumption paused", func() bool { return state() == "Disabled" })
	// Batches received before the pause finish; then nothing is received.
	time.Sleep(2 * time.Second)
	receivedPaused := m.Stats().Received
	remaining := outage - time.Since(cutAt)
	require.Positive(t, remaining, "the pause came after the outage was due to end")
	time.Sleep(remaining)
	require.Equal(t, receivedPaused, m.Stats().Received, "no message is received while consumption is paused")
	require.Equal(t, "Disabled", state(), "the probe does not resume while the store is down")

	require.NoError(t, proxy.Restore())
	toResume := waitFor("consumption resumed", func() bool { return m.Stats().Received > receivedPaused })
	require.Less(t, toResume, resumeBound, "resumed within the probe interval and the mapping's state check")
	require.NoError(t, <-drained)

	requireLedger(t, tb, valid)
	final, err := store.statuses(ctx)
	require.NoError(t, err)
	for _, e := range valid {
		require.Equal(t, string(idempotency.StatusCompleted), final[idempotency.StoredKey(keyPrefix, e.ID)], "the record of %s once drained", e.ID)
	}
	require.Empty(t, drainQueue(t, client, q.DLQURL), "no message may reach the DLQ, however long the outage")

	var out strings.Builder
	for _, w := range append(pool, prober) {
		out.WriteString(w.out.String())
	}
	msgs := tally(logLines(out.String()), "msg")
	require.Positive(t, msgs["sqsonce: consumption paused until the idempotency store answers"])
	require.Positive(t, msgs["sqsonce: consumption resumed: the idempotency store answers"])
	st := m.Stats()
	figures := fmt.Sprintf("pause %s: events=%d outage=%s (%dx maxReceiveCount %d x visibility %ds) pause-after=%s paused-in=%s resumed-in=%s "+
		"deliveries=%d batches=%d disabled-checks=%d hidden-by-backoff-logs=%d dlq=0",
		store.name, n, outage, int(outage/time.Second)/(maxReceives*visibility), maxReceives, visibility, pauseAfter,
		toPause.Round(100*time.Millisecond), toResume.Round(100*time.Millisecond), st.Received, st.Batches, st.DisabledChecks,
		msgs["sqsonce: records failed by the store, or held by a live claim, hidden for longer"])
	t.Log(figures)
	fmt.Println("FIGURES", figures)
}
