package batch

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

// FinishBy returns, for an invocation whose context is ctx starting at now,
// the time by which the work a handler does after its context ends
// (recording a completion, releasing a claim) must be over: the processor
// stops waiting for handlers then, and reports the records still running as
// abandoned. It lies between the handlers' context deadline (the safety
// margin) and the invocation's deadline. ok is false when ctx has no
// deadline. A caller computes it before Run, so it is never later than
// Run's own.
func (c Config) FinishBy(ctx context.Context, now time.Time) (t time.Time, ok bool) {
	b := newBudget(ctx, now, c.WithDefaults().SafetyMargin)
	if !b.limited {
		return time.Time{}, false
	}
	return now.Add(b.abandon), true
}
