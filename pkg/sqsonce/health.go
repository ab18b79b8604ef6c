package sqsonce

import (
	"sync"
	"time"
)

// health judges, across the invocations one execution environment serves,
// whether the idempotency store is down: it has failed (a record failed
// with ClassStoreFailed, or the breaker stopped records) and has not
// answered a single call since, for at least a while. A blip is followed by
// an answer, which clears the judgement; so is an outage that ends.
type health struct {
	mu           sync.Mutex
	failingSince time.Time // zero while the store answers
}

// observe records what one invocation saw of the store at now, and returns
// for how long the store has been failing without an answer (0 when it
// answered, or did not fail).
func (h *health) observe(now time.Time, failed, answered bool) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case answered:
		h.failingSince = time.Time{}
	case failed && h.failingSince.IsZero():
		h.failingSince = now
	}
	if h.failingSince.IsZero() {
		return 0
	}
	return now.Sub(h.failingSince)
}

// reset forgets the failures seen, once the store answered a probe.
func (h *health) reset() {
	h.mu.Lock()
	h.failingSince = time.Time{}
	h.mu.Unlock()
}

// storeSeen says what a batch's counts show of the store: whether it
// failed, and whether it answered at least one call.
func storeSeen(c Counts) (failed, answered bool) {
	failed = c.StoreFailed > 0 || c.Breaker > 0
	answered = c.Executed+c.Replayed+c.AlreadyApplied+c.PayloadMismatch+c.InProgress+c.Contended+
		c.LeaseLost+c.ConditionFailed > 0
	return failed, answered
}
