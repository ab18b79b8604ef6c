package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Batches returns n new events (ids prefix-0 ... prefix-(n-1), spread over
// accounts) cut into SQS batches of size.
func Batches(prefix string, n, size, accounts int) []events.SQSEvent {
	var out []events.SQSEvent
	for i := 0; i < n; i += size {
		var ev events.SQSEvent
		for j := i; j < min(i+size, n); j++ {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: fmt.Sprintf("%s-m-%d", prefix, j),
				Body: fmt.Sprintf(`{"id":"%s-%d","account":"acc-%d","amount":%d,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`,
					prefix, j, j%accounts, j%97+1),
			})
		}
		out = append(out, ev)
	}
	return out
}

// Run is the outcome of driving a consumer.
type Run struct {
	Messages int
	Failures int // reported batch item failures
	Elapsed  time.Duration
}

// PerSecond is the messages applied per second.
func (r Run) PerSecond() float64 { return float64(r.Messages-r.Failures) / r.Elapsed.Seconds() }

// Drive invokes h with the batches, concurrency invocations at a time (as
// that many concurrent Lambda execution environments would), and times it.
func Drive(ctx context.Context, h Handler, batches []events.SQSEvent, concurrency int) (Run, error) {
	var r Run
	var failures atomic.Int64
	var firstErr error
	var mu sync.Mutex
	next := make(chan events.SQSEvent)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for ev := range next {
				resp, err := h.Handle(ctx, ev)
				failures.Add(int64(len(resp.BatchItemFailures)))
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for _, ev := range batches {
		r.Messages += len(ev.Records)
		next <- ev
	}
	close(next)
	wg.Wait()
	r.Elapsed, r.Failures = time.Since(start), int(failures.Load())
	return r, firstErr
}
