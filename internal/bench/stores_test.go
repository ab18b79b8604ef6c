package bench_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// roundTrips counts the commands a client sends (a pipeline counts once).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkStore is the guard's latency per message on each store in one
// run: DynamoDB (moto, single-threaded, on loopback), Valkey/Redis (a real
// local redis-server with one local replica) without and with waiting for
// the replica (redis-wait1: WAIT 1 after each claim and completion, in the
// same round trip) and the in-memory store; a new key (claim and
// completion) and a duplicate (one claim that finds the completed record).
// It reports round trips per message, as sent on the wire.
func BenchmarkStore(b *testing.B) {
	server := redistest.Start(b)
	redistest.StartReplica(b, server)
	work := func(context.Context) (json.RawMessage, error) { return json.RawMessage(`{"applied":250}`), nil }
	payload := []byte(`{"id":"evt-1","account":"acc-1","amount":250,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`)
	for _, store := range []string{"dynamodb", "redis", "redis-wait1", "memstore"} {
		for _, dup := range []bool{false, true} {
			name := store + "/new"
			if dup {
				name = store + "/duplicate"
			}
			b.Run(name, func(b *testing.B) {
				var s idempotency.Store = memstore.New()
				var trips roundTrips
				requests := awstest.NewRequestCounter()
				switch store {
				case "redis", "redis-wait1":
					c := server.Client()
					c.AddHook(&trips)
					var opts []redisstore.Option
					if store == "redis-wait1" {
						opts = append(opts, redisstore.WithWaitReplicas(1, 0))
					}
					rs, err := redisstore.New(context.Background(), c, opts...)
					if err != nil {
						b.Fatal(err)
					}
					s = rs
				case "dynamodb":
					db := awstest.DynamoDB(b, requests.Option)
					ds, err := dynamostore.New(db, awstest.NewTable(b, db, awstest.IdempotencyTable))
					if err != nil {
						b.Fatal(err)
					}
					s = ds
				}
				// A prefix of each run's own, so that -count above 1 still
				// measures new keys.
				g, err := sqsonce.NewOnce[json.RawMessage](s, sqsonce.OnceConfig{KeyPrefix: "bench-" + name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36), CacheSize: -1})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				if dup {
					if _, _, err := g.Do(ctx, "evt-1", payload, work); err != nil {
						b.Fatal(err)
					}
				}
				before, beforeRequests := trips.n.Load(), requests.Total()
				i := 0
				for b.Loop() {
					key := "evt-1"
					if !dup {
						key = strconv.Itoa(i)
						i++
					}
					if _, _, err := g.Do(ctx, key, payload, work); err != nil {
						b.Fatal(err)
					}
				}
				switch store {
				case "redis", "redis-wait1":
					b.ReportMetric(float64(trips.n.Load()-before)/float64(b.N), "roundtrips/msg")
				case "dynamodb":
					b.ReportMetric(float64(requests.Total()-beforeRequests)/float64(b.N), "roundtrips/msg")
				}
			})
		}
	}
}
