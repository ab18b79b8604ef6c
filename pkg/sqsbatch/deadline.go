package sqsbatch

import (
	"context"
	"time"
)

// budget is the time an invocation may use, measured from its start.
type budget struct {
	limited bool          // the context has a deadline
	stop    time.Duration // stop starting records and cancel running ones
	abandon time.Duration // stop waiting for running handlers and return
}

// newBudget computes the budget for a context at time now: the margin is
// SafetyMargin, capped at a quarter of the time left; records stop at the
// deadline minus the margin, and waiting for handlers stops at the deadline
// minus half the margin.
func newBudget(ctx context.Context, now time.Time, safetyMargin time.Duration) budget {
	deadline, ok := ctx.Deadline()
	if !ok {
		return budget{}
	}
	left := deadline.Sub(now)
	margin := min(safetyMargin, left/4)
	if margin < 0 {
		margin = 0
	}
	return budget{limited: true, stop: left - margin, abandon: left - margin/2}
}
