package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/bootstraps"
	"github.com/sqsonce/sqsonce/internal/testenv/faultproxy"
	"github.com/sqsonce/sqsonce/internal/testenv/ledgerscan"
	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
)

// dynamoUpstream is the address of the local DynamoDB endpoint.
func dynamoUpstream(t *testing.T) string {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	u, err := url.Parse(endpoint)
	require.NoError(t, err)
	require.NotEmpty(t, u.Host, "the outage test needs a DynamoDB endpoint to put a proxy in front of: run it under scripts/with-local-aws.sh")
	return u.Host
}

// outageStore is where the outage test's consumers keep their idempotency
// records, behind the fault proxy, and how the monitor reads them straight
// from the store.
type outageStore struct {
	name string
	// upstream is the address the proxy forwards to.
	upstream func(t *testing.T) string
	// env points the consumer at the proxy.
	env func(proxy *faultproxy.Proxy) []string
	// statuses reads every record's status by stored key.
	statuses func(ctx context.Context) (map[string]string, error)
	// allowed is the statuses an applied entry's record may have: on the
	// DynamoDB path a record commits with its entry (COMPLETED); on the
	// any-effect path the entry is written under a claim and completed after
	// (a completion lost in the outage leaves it INPROGRESS until a
	// redelivery takes the expired claim over and finds the entry).
	allowed []idempotency.Status
}

func dynamoStatuses(tb tables) func(ctx context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) {
		status := map[string]string{}
		var start map[string]types.AttributeValue
		for {
			out, err := tb.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tb.idem), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
			if err != nil {
				return nil, fmt.Errorf("scan %s: %w", tb.idem, err)
			}
			for _, item := range out.Items {
				status[attrString(item, dynamostore.AttrKey)] = attrString(item, dynamostore.AttrStatus)
			}
			if len(out.LastEvaluatedKey) == 0 {
				return status, nil
			}
			start = out.LastEvaluatedKey
		}
	}
}

func redisStatuses(t *testing.T, server *redistest.Server, keys []string) func(ctx context.Context) (map[string]string, error) {
	store, err := redisstore.New(context.Background(), server.Client())
	require.NoError(t, err)
	return func(ctx context.Context) (map[string]string, error) {
		status := map[string]string{}
		for _, k := range keys {
			rec, err := store.Get(ctx, k)
			if errors.Is(err, idempotency.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			status[k] = string(rec.Status)
		}
		return status, nil
	}
}

// claimedOnly checks, on a consistent view read straight from the ledger
// and the store (not through the proxy), that every ledger entry has an
// idempotency record of an allowed status and every balance counts each
// entry once. The ledger is read first: a record never goes back, so an
// entry seen before its record is read must find it. It returns the number
// of entries.
func claimedOnly(ctx context.Context, tb tables, store outageStore) (int, error) {
	accounts, err := ledgerscan.Snapshot(ctx, tb.db, tb.ledger)
	if err != nil {
		return 0, err
	}
	status, err := store.statuses(ctx)
	if err != nil {
		return 0, err
	}
	entries := 0
	for name, a := range accounts {
		if a.Balance != a.Sum || a.Counted != int64(len(a.Entries)) {
			return 0, fmt.Errorf("account %s: balance %d over %d entries, but the entries sum to %d over %d", name, a.Balance, a.Counted, a.Sum, len(a.Entries))
		}
		for _, id := range a.Entries {
			if s := status[idempotency.StoredKey(keyPrefix, id)]; !slices.Contains(store.allowed, idempotency.Status(s)) {
				return 0, fmt.Errorf("entry %s is in the ledger but its idempotency record is %q", id, s)
			}
		}
		entries += len(a.Entries)
	}
	return entries, nil
}

// TestIdempotencyStoreOutage runs two real consumers whose idempotency store
// (DynamoDB; and Valkey/Redis, the any-effect path) is behind a fault proxy. Once a quarter of the events are applied the proxy cuts
// every connection for several seconds, then adds latency, then stalls and
// closes connections (timeouts), then recovers. Throughout, a monitor reading
// DynamoDB directly checks that no ledger entry exists without a COMPLETED
// claim and none is counted twice. Store failures trip the breaker, so
// invocations end quickly; nothing panics; after recovery every event is
// applied exactly once and nothing reaches the DLQ.
func TestIdempotencyStoreOutage(t *testing.T) {
	t.Parallel()
	t.Run("dynamodb", func(t *testing.T) {
		t.Parallel()
		tb := newTables(t)
		runOutage(t, tb, dynamoOutageStore(tb))
	})
	t.Run("any-effect-redis", func(t *testing.T) {
		t.Parallel()
		tb := newTables(t)
		runOutage(t, tb, redisOutageStore(t, "outage"))
	})
}

// dynamoOutageStore is the DynamoDB store of tb behind the fault proxy:
// two attempts per request, so a request to a dead endpoint fails in
// bounded time. Its records commit with their entries (COMPLETED only).
func dynamoOutageStore(tb tables) outageStore {
	return outageStore{
		name:     "dynamodb",
		upstream: dynamoUpstream,
		env: func(p *faultproxy.Proxy) []string {
			return []string{"AWS_ENDPOINT_URL_DYNAMODB=" + p.URL(), "AWS_MAX_ATTEMPTS=2", "AWS_RETRY_MODE=standard"}
		},
		statuses: dynamoStatuses(tb),
		allowed:  []idempotency.Status{idempotency.StatusCompleted},
	}
}

// redisOutageStore is a Valkey/Redis server of its own behind the fault
// proxy, for the any-effect path, whose records are read for the events
// makeEvents(prefix, ...) makes. An entry can be written under a claim whose
// completion the outage loses (INPROGRESS).
func redisOutageStore(t *testing.T, prefix string) outageStore {
	server := redistest.Start(t)
	var keys []string
	for _, e := range makeEvents(prefix, sized(150, 1500), 10) {
		keys = append(keys, idempotency.StoredKey(keyPrefix, e.ID))
	}
	return outageStore{
		name:     "any-effect-redis",
		upstream: func(*testing.T) string { return server.Addr() },
		env: func(p *faultproxy.Proxy) []string {
			return []string{"IDEMPOTENCY_STORE=redis", "REDIS_URL=redis://" + p.Addr()}
		},
		statuses: redisStatuses(t, server, keys),
		allowed:  []idempotency.Status{idempotency.StatusCompleted, idempotency.StatusInProgress},
	}
}

func runOutage(t *testing.T, tb tables, store outageStore) {
	n := sized(150, 1500)
	cut := time.Duration(sized(4, 10)) * time.Second
	slow := time.Duration(sized(2, 6)) * time.Second
	const functionTimeout = 10 * time.Second
	bootstrapPath := bootstraps.Path(t, bootstraps.Consumer)
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{VisibilityTimeout: 2, MaxReceiveCount: 200})
	proxy, err := faultproxy.Start(store.upstream(t))
	require.NoError(t, err)
	t.Cleanup(proxy.Close)

	valid := makeEvents("outage", n, 10)
	bodies := make([]string, len(valid))
	for i, e := range valid {
		bodies[i] = e.body()
	}
	send(t, client, q.URL, bodies)

	// Two attempts, so a request to a dead endpoint fails in bounded time.
	// Two records at a time, so a batch met by the cut has unstarted records
	// left when the third consecutive store failure opens the breaker (with
	// all ten running at once there would be none for it to fail).
	env := consumerEnv(tb, q.DLQURL, append(store.env(proxy), "BREAK_AFTER=3", "CONCURRENCY=2")...)
	pool := []*worker{
		startWorker(t, rie.Config{Bootstrap: bootstrapPath, Env: env, FunctionTimeout: functionTimeout}),
		startWorker(t, rie.Config{Bootstrap: bootstrapPath, Env: env, FunctionTimeout: functionTimeout}),
	}
	m, err := esm.New(esm.Config{QueueURL: q.URL, Client: client, Invokers: []esm.Invoker{pool[0], pool[1]}, WaitTimeSeconds: 1})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), budget(4, 30))
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- m.RunUntilDrained(ctx, 2*time.Second) }()

	// The monitor checks the invariant continuously until the end.
	monitorCtx, stopMonitor := context.WithCancel(ctx)
	var monitor sync.WaitGroup
	var violation error
	checks := 0
	monitor.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-monitorCtx.Done():
				return
			case <-tick.C:
			}
			if _, err := claimedOnly(monitorCtx, tb, store); err != nil {
				if monitorCtx.Err() == nil {
					violation = err
				}
				return
			}
			checks++
		}
	})

	// Wait (on the real consumers, with a deadline) until a quarter is applied.
	tick := time.NewTicker(100 * time.Millisecond)
	for applied := 0; applied < n/4; {
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of %d events applied before the outage was due", applied, n)
		case <-tick.C:
		}
		applied, err = claimedOnly(ctx, tb, store)
		require.NoError(t, err)
	}
	tick.Stop()

	// The faults last for set times: that is the outage being simulated.
	hold := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	proxy.Cut()
	atCut, err := claimedOnly(ctx, tb, store)
	require.NoError(t, err)
	hold(cut)
	duringCut, err := claimedOnly(ctx, tb, store)
	require.NoError(t, err)
	require.NoError(t, proxy.Restore())
	require.NoError(t, proxy.SetLatency(150*time.Millisecond))
	hold(slow)
	require.NoError(t, proxy.SetLatency(0))
	require.NoError(t, proxy.SetTimeout(500*time.Millisecond))
	hold(slow)
	require.NoError(t, proxy.Restore())

	require.NoError(t, <-drained)
	stopMonitor()
	monitor.Wait()
	require.NoError(t, violation)
	require.Positive(t, checks)
	requireLedger(t, tb, valid)
	if final, err := store.statuses(ctx); assert.NoError(t, err) {
		for _, e := range valid {
			require.Equal(t, string(idempotency.StatusCompleted), final[idempotency.StoredKey(keyPrefix, e.ID)], "the record of %s once drained", e.ID)
		}
		require.Len(t, final, len(valid), "one record per event")
	}
	require.Empty(t, drainQueue(t, client, q.DLQURL), "no valid event may end in the DLQ")

	var out strings.Builder
	var durations []time.Duration
	for _, w := range pool {
		_, d := w.stats()
		durations = append(durations, d...)
		out.WriteString(w.out.String())
	}
	lines := logLines(out.String())
	outcomes, classes, msgs := tally(lines, "outcome"), tally(lines, "error_class"), tally(lines, "msg")
	// The default consumer hands a standard queue's batch over in one wave:
	// its records fail together on the store's first error, and the breaker
	// (which stops later waves, as in FIFO batches) has nothing left to stop.
	require.Positive(t, classes["store-failed"], "records failed fast on the store's errors")
	require.Zero(t, outcomes["panicked"])
	require.NotContains(t, out.String(), "Task timed out")
	require.NotContains(t, out.String(), "Runtime.ExitError")
	require.NotContains(t, out.String(), "goroutine ")
	worst := percentile(durations, 100)
	// Fail fast is proven by the store-failed outcomes above and by every
	// invocation ending on its own before the function timeout; how far
	// before depends on the machine's load, so it is reported, not asserted.
	require.Less(t, worst, functionTimeout, "store failures never burn the whole function timeout")

	st := m.Stats()
	figures := fmt.Sprintf("outage %s: events=%d cut=%s latency=150ms for %s stall(500ms) for %s applied-before-cut=%d applied-during-cut=%d (in flight at the cut) "+
		"deliveries=%d batches=%d store-failed=%d breaker=%d lease-lost=%d in-progress=%d applied=%d (logged %d) replayed=%d "+
		"invocation p50=%s p99=%s max=%s (timeout %s) invariant checks=%d",
		store.name, n, cut, slow, slow, atCut, duringCut-atCut, st.Received, st.Batches, classes["store-failed"], outcomes["breaker"],
		classes["lease-lost"], classes["in-progress"], n, msgs["sqsonce: effect applied"], msgs["sqsonce: duplicate suppressed"],
		percentile(durations, 50), percentile(durations, 99), worst, functionTimeout, checks)
	t.Log(figures)
	fmt.Println("FIGURES", figures)
}
