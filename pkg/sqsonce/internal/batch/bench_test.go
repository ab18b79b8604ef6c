package batch_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// BenchmarkHandler measures the adapter's own cost per batch and per message,
// with a handler that does nothing and a JSON logger that discards its lines.
func BenchmarkHandler(b *testing.B) {
	for _, n := range []int{10, 1_000, 10_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("m-%05d", i)
			}
			ev := standard(ids...)
			p := newProcessor(b, func(context.Context, events.SQSMessage) error { return nil }, batch.Config{})
			ctx := context.Background()
			var before, after runtime.MemStats
			b.ReportAllocs()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Handle(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			msgs := float64(b.N) * float64(n)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/msgs, "allocs/msg")
		})
	}
}
