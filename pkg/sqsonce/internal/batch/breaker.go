package batch

import "sync/atomic"

// breaker opens after a number of consecutive outage-class failures. It lives
// for one invocation.
type breaker struct {
	after       int64 // 0: never opens
	consecutive atomic.Int64
	open        atomic.Bool
}

// succeeded resets the run of consecutive outages.
func (b *breaker) succeeded() { b.consecutive.Store(0) }

// outage counts one outage-class failure and opens the breaker at the limit.
func (b *breaker) outage() {
	if n := b.consecutive.Add(1); b.after > 0 && n >= b.after {
		b.open.Store(true)
	}
}

// isOpen reports whether records should no longer start.
func (b *breaker) isOpen() bool { return b.open.Load() }
