package bench_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
)

// BenchmarkGuard is the guard's own CPU and memory per message on the
// in-memory store (no latency): a new key, a duplicate read from the store,
// and a duplicate served by the local cache.
func BenchmarkGuard(b *testing.B) {
	payload := []byte(`{"account":"acc-1","amount":250,"currency":"EUR","id":"evt-1","occurred_at":"2026-11-27T10:00:00Z"}`)
	result := []byte(`{"account":"acc-1","applied":250}`)
	work := func(context.Context) ([]byte, error) { return result, nil }
	for _, tc := range []struct {
		name  string
		cache int
		dup   bool
	}{{"new", 0, false}, {"duplicate", 0, true}, {"duplicate-cache-hit", 1024, true}} {
		b.Run(tc.name, func(b *testing.B) {
			g, err := idempotency.NewGuard(memstore.New(), idempotency.Config{KeyPrefix: "payments", CacheSize: tc.cache})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if tc.dup {
				if _, err := g.Do(ctx, "evt-1", payload, work); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := "evt-1"
				if !tc.dup {
					key = strconv.Itoa(i)
					i++
				}
				if _, err := g.Do(ctx, key, payload, work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
