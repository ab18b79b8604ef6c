package consumer_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/ledgerscan"
	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// redisStack is the consumer with its idempotency records on a real
// Valkey/Redis server (the any-effect path) and its ledger on the local AWS.
func redisStack(t *testing.T, client *redis.Client, server *redistest.Server, breakAfter int) stack {
	t.Helper()
	db := awstest.DynamoDB(t)
	st := stack{db: db, ledger: awstest.NewTable(t, db, awstest.LedgerTable)}
	var err error
	st.handler, err = consumer.New(consumer.Config{
		Store: consumer.StoreRedis, RedisURL: "redis://" + server.Addr(), LedgerTable: st.ledger,
		KeyPrefix: "payments", TTL: time.Hour, Keys: sqskey.Source{Kind: sqskey.BodyField}, Concurrency: 4,
		CacheSize: 0, BreakAfter: breakAfter,
	}, consumer.Clients{DynamoDB: db, Redis: client}, io.Discard)
	require.NoError(t, err)
	return st
}

func TestLoadConfigRedis(t *testing.T) {
	t.Parallel()
	cfg, err := consumer.LoadConfig(env(map[string]string{
		"IDEMPOTENCY_STORE": "redis", "REDIS_URL": "rediss://u:p@cache:6379", "REDIS_CLUSTER": "true", "LEDGER_TABLE": "l",
	}))
	require.NoError(t, err)
	require.Equal(t, consumer.StoreRedis, cfg.Store)
	require.True(t, cfg.RedisCluster)
	_, err = consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_STORE": "redis", "LEDGER_TABLE": "l"}))
	require.ErrorContains(t, err, "REDIS_URL")
	_, err = consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_STORE": "memcached", "LEDGER_TABLE": "l"}))
	require.ErrorContains(t, err, "IDEMPOTENCY_STORE")
}

// REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT reach the store's
// WithWaitReplicas; off by default, the timeout under the client's read
// timeout.
func TestLoadConfigRedisWaitReplicas(t *testing.T) {
	t.Parallel()
	base := map[string]string{"IDEMPOTENCY_STORE": "redis", "REDIS_URL": "redis://cache:6379", "LEDGER_TABLE": "l"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cfg, err := consumer.LoadConfig(env(base))
	require.NoError(t, err)
	require.Zero(t, cfg.RedisWaitReplicas)
	require.Equal(t, redisstore.WaitTimeoutDefault, cfg.RedisWaitTimeout)
	cfg, err = consumer.LoadConfig(env(with("REDIS_WAIT_REPLICAS", "2", "REDIS_WAIT_TIMEOUT", "200ms")))
	require.NoError(t, err)
	require.Equal(t, 2, cfg.RedisWaitReplicas)
	require.Equal(t, 200*time.Millisecond, cfg.RedisWaitTimeout)
	for _, tc := range [][2]string{
		{"REDIS_WAIT_REPLICAS", "-1"}, {"REDIS_WAIT_REPLICAS", "two"},
		{"REDIS_WAIT_TIMEOUT", "1s"}, {"REDIS_WAIT_TIMEOUT", "0s"}, {"REDIS_WAIT_TIMEOUT", "soon"},
	} {
		_, err := consumer.LoadConfig(env(with(tc[0], tc[1])))
		var cerr *consumer.ConfigError
		require.ErrorAs(t, err, &cerr, "%s=%s", tc[0], tc[1])
		require.Equal(t, tc[0], cerr.Variable)
	}
}

// The consumer refuses a server that may evict its records (ElastiCache's
// default volatile-lru): it does not start.
func TestConsumerRefusesAnEvictingRedis(t *testing.T) {
	t.Parallel()
	server := redistest.Start(t, "--maxmemory-policy", "volatile-lru")
	_, err := consumer.New(consumer.Config{
		Store: consumer.StoreRedis, RedisURL: "redis://" + server.Addr(), LedgerTable: "l",
		KeyPrefix: "payments", TTL: time.Hour, Keys: sqskey.Source{Kind: sqskey.BodyField}, Concurrency: 4,
	}, consumer.Clients{DynamoDB: awstest.DynamoDB(t), Redis: server.Client()}, io.Discard)
	require.ErrorIs(t, err, redisstore.ErrEvictionPolicy)
}

// The any-effect path on Valkey/Redis, end to end: the fixtures, then the
// same batches from four concurrent invocations and again as producer
// retries; every event is applied once.
func TestConsumerOnRedisIsExactlyOnce(t *testing.T) {
	t.Parallel()
	server := redistest.Start(t)
	st := redisStack(t, server.Client(), server, 3)
	ctx := context.Background()
	batch := loadEvent(t, "batch-10.json")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			resp, err := st.handler.Handle(ctx, batch)
			require.NoError(t, err)
			// A copy that meets a concurrent copy's claim is retried
			// (in-progress); the redelivery below replays it.
			for _, f := range resp.BatchItemFailures {
				require.Contains(t, batchIDs(batch), f.ItemIdentifier)
			}
		})
	}
	wg.Wait()
	for _, f := range []string{"batch-10.json", "duplicate-in-batch.json", "single.json", "producer-retry.json"} {
		resp, err := st.handler.Handle(ctx, loadEvent(t, f))
		require.NoError(t, err)
		require.Empty(t, failures(resp), f)
	}
	requireLedger(t, st, map[string]want{
		"acc-1": {250, []string{"evt-1"}},
		"acc-2": {830, []string{"evt-101", "evt-104", "evt-107", "evt-110"}},
		"acc-3": {12000, []string{"evt-102", "evt-105", "evt-108"}},
		"acc-4": {700, []string{"evt-103", "evt-106", "evt-109"}},
		"acc-5": {400, []string{"evt-201", "evt-202"}},
	})
	require.Equal(t, 13, st.handler.Totals().Executed)
}

// The Redis server stops mid-run: nothing runs unclaimed, the breaker fails
// the rest of the batch without running it, and after the restart every
// event is applied once, although the server lost its records (no
// persistence): the ledger's own entry condition catches the repeats.
func TestConsumerOnRedisOutage(t *testing.T) {
	t.Parallel()
	server := redistest.Start(t)
	client := server.Client()
	st := redisStack(t, client, server, 3)
	ctx := context.Background()
	first := ledgerBatch("before", 10)
	report, err := st.handler.Process(ctx, first)
	require.NoError(t, err)
	require.Empty(t, failures(report.Response))

	server.Stop()
	during := ledgerBatch("during", 20)
	report, err = st.handler.Process(ctx, during)
	require.NoError(t, err)
	require.Len(t, report.Response.BatchItemFailures, 20, "every record failed")
	require.Positive(t, report.Counts.Breaker, "the breaker failed records without running them")
	require.Equal(t, 20, report.Counts.Breaker+report.Counts.StoreFailed)
	require.Zero(t, report.Counts.Executed, "nothing ran unclaimed")

	server.Restart()
	// The client notices the server is back on its own (go-redis retries
	// its dial in the background); until then records fail fast as above.
	for attempt := 0; client.Ping(ctx).Err() != nil; attempt++ {
		require.Less(t, attempt, 600, "the client never reconnected")
		time.Sleep(50 * time.Millisecond)
	}
	// The first invocation after the restart may still fail some records on
	// connections that died with the server; they are redelivered.
	redeliver := func(b events.SQSEvent) sqsonce.Counts {
		var counts sqsonce.Counts
		for attempt := 0; len(b.Records) > 0; attempt++ {
			require.Less(t, attempt, 3, "still failing after the restart")
			report, err := st.handler.Process(ctx, b)
			require.NoError(t, err)
			counts = counts.Add(report.Counts)
			failed := batchIDs(events.SQSEvent{Records: nil})
			for _, f := range report.Response.BatchItemFailures {
				failed[f.ItemIdentifier] = true
			}
			b.Records = slices.DeleteFunc(b.Records, func(r events.SQSMessage) bool { return !failed[r.MessageId] })
		}
		return counts
	}
	require.Equal(t, 20, redeliver(during).Executed)
	counts := redeliver(first)
	require.Equal(t, 10, counts.AlreadyApplied+counts.Executed+counts.Replayed)
	got, err := ledgerscan.Snapshot(ctx, st.db, st.ledger)
	require.NoError(t, err)
	entries := 0
	for _, a := range got {
		entries += len(a.Entries)
		require.Equal(t, a.Sum, a.Balance)
		require.EqualValues(t, len(a.Entries), a.Counted, "each entry added to its balance once")
	}
	require.Equal(t, 30, entries)
}

// ledgerBatch is n valid events over 3 accounts, each in its own message.
func ledgerBatch(prefix string, n int) events.SQSEvent {
	var ev events.SQSEvent
	for i := range n {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("%s-m-%d", prefix, i), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events",
			Body: fmt.Sprintf(`{"id":"%s-%d","account":"acc-%s-%d","amount":%d,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`,
				prefix, i, prefix, i%3, i+1),
		})
	}
	return ev
}

func batchIDs(ev events.SQSEvent) map[string]bool {
	ids := map[string]bool{}
	for _, r := range ev.Records {
		ids[r.MessageId] = true
	}
	return ids
}
