package bench_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// BenchmarkGuard is the guard's own CPU and memory per message on the
// in-memory store (no latency): a new key, a duplicate read from the store,
// and a duplicate served by the local cache.
func BenchmarkGuard(b *testing.B) {
	payload := []byte(`{"account":"acc-1","amount":250,"currency":"EUR","id":"evt-1","occurred_at":"2026-11-27T10:00:00Z"}`)
	result := json.RawMessage(`{"account":"acc-1","applied":250}`)
	work := func(context.Context) (json.RawMessage, error) { return result, nil }
	for _, tc := range []struct {
		name  string
		cache int
		dup   bool
	}{{"new", -1, false}, {"duplicate", -1, true}, {"duplicate-cache-hit", 1024, true}} {
		b.Run(tc.name, func(b *testing.B) {
			g, err := sqsonce.NewOnce[json.RawMessage](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "payments", CacheSize: tc.cache})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if tc.dup {
				if _, _, err := g.Do(ctx, "evt-1", payload, work); err != nil {
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
				if _, _, err := g.Do(ctx, key, payload, work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
