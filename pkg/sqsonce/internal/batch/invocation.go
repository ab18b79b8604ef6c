package batch

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Record states while an invocation runs.
const (
	statePending uint8 = iota
	stateRunning
	stateDone
)

// invocation is one batch in flight: each unit of work runs once a slot is
// free (Config.Concurrency of them), and one outcome is recorded per unique
// record.
type invocation struct {
	p       *Processor
	plan    plan
	handler SlotHandler  // runs one record, or
	batchH  BatchHandler // runs a wave of records

	runCtx  context.Context // cancelled at the budget's stop point
	sendCtx context.Context // for DLQ sends; ends at the abandon point
	breaker breaker
	slots   chan struct{} // a token per record holding a slot
	stop    chan struct{} // closed when the invocation returns
	done    chan struct{}

	mu       sync.Mutex // guards everything below
	closed   bool       // the invocation has returned; late results are dropped
	state    []uint8
	outcomes []Outcome
	classes  []string
}

func newInvocation(p *Processor, pl plan, h SlotHandler, bh BatchHandler) *invocation {
	inv := &invocation{
		p:        p,
		plan:     pl,
		handler:  h,
		batchH:   bh,
		slots:    make(chan struct{}, p.cfg.Concurrency),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		state:    make([]uint8, len(pl.records)),
		outcomes: make([]Outcome, len(pl.records)),
		classes:  make([]string, len(pl.records)),
	}
	inv.breaker.after = int64(max(p.cfg.BreakAfter, 0))
	return inv
}

// run processes the batch and returns the outcome and error class of each
// record, indexed like the batch ("" for duplicates). It returns at the
// latest at the budget's abandon point.
func (inv *invocation) run(ctx context.Context) ([]Outcome, []string) {
	now := inv.p.cfg.Now()
	b := newBudget(ctx, now, inv.p.cfg.SafetyMargin)
	inv.runCtx, inv.sendCtx = ctx, ctx
	var abandon <-chan time.Time
	if b.limited {
		var cancelRun, cancelSend context.CancelFunc
		inv.runCtx, cancelRun = context.WithTimeout(ctx, b.stop)
		defer cancelRun()
		inv.sendCtx, cancelSend = context.WithTimeout(ctx, b.abandon)
		defer cancelSend()
		timer := time.NewTimer(b.abandon)
		defer timer.Stop()
		abandon = timer.C
	}
	if inv.handler == nil {
		go inv.waves()
	} else {
		go inv.dispatch()
	}
	select {
	case <-inv.done:
	case <-abandon:
	}
	return inv.close(ctx)
}

// dispatch starts each unit once a slot is free, and closes done when every
// unit has ended. A record holds its slot while it runs, or until its
// handler releases it, so Config.Concurrency bounds the records doing work,
// not those waiting for a write shared with others.
func (inv *invocation) dispatch() {
	var units sync.WaitGroup
	defer func() {
		units.Wait()
		close(inv.done)
	}()
	slots := make([]Slot, len(inv.plan.units)) // one per unit, taken again by its next record
	for u := range inv.plan.units {
		slots[u].inv = inv
		if !slots[u].acquire() {
			return
		}
		units.Go(func() { inv.runUnit(inv.plan.units[u], &slots[u]) })
	}
}

// acquire takes the slot; false once the invocation has returned.
func (s *Slot) acquire() bool {
	select {
	case <-s.inv.stop:
		return false
	default:
	}
	select {
	case s.inv.slots <- struct{}{}:
		s.held.Store(true)
		return true
	case <-s.inv.stop:
		return false
	}
}

// runUnit runs the records of one unit in order, each in a slot of its own
// (the first record's is taken before runUnit is called); after a reported
// failure the rest are skipped.
func (inv *invocation) runUnit(unit []int, slot *Slot) {
	failed := false
	for k, i := range unit {
		if k > 0 && !slot.acquire() {
			return
		}
		o := inv.blocked()
		if failed {
			o = OutcomeSkipped
		}
		if o != "" {
			slot.Release()
			// Deadline and breaker stay closed once closed, so the rest of
			// the unit ends the same way without a skip.
			if !inv.record(i, o, 0, blockedClass[o], nil) {
				return
			}
			continue
		}
		if !inv.start(i) {
			slot.Release()
			return
		}
		o = inv.runRecord(i, slot)
		failed = o.Reported()
	}
}

// blockedClass is the error class of records that never ran.
var blockedClass = map[Outcome]string{
	OutcomeSkipped:   ClassSkipped,
	OutcomeDeadline:  ClassDeadline,
	OutcomeBreaker:   ClassBreaker,
	OutcomeAbandoned: ClassDeadline,
}

// runRecord runs the handler on record i, frees its slot and records its
// outcome.
func (inv *invocation) runRecord(i int, slot *Slot) Outcome {
	began := inv.p.cfg.Now()
	err := call(inv.handler, inv.runCtx, inv.plan.records[i], slot)
	slot.Release()
	return inv.settle(i, err, began)
}

// settle turns the handler's error for record i into its outcome (sending
// a permanent failure to the DLQ when one is configured), feeds the
// breaker, and records the outcome.
func (inv *invocation) settle(i int, err error, began time.Time) Outcome {
	cfg := &inv.p.cfg
	msg := inv.plan.records[i]
	var o Outcome
	class := ClassOf(err)
	switch {
	case err == nil:
		o = OutcomeSucceeded
		inv.breaker.succeeded()
	case errors.As(err, new(*PanicError)):
		o = OutcomePanicked
	case IsPermanent(err) && cfg.DLQ == nil:
		o = OutcomePermanent
	case IsPermanent(err):
		o = OutcomeSentToDLQ
		if sendErr := cfg.DLQ.send(inv.sendCtx, msg, err); sendErr != nil {
			o, err = OutcomeDLQFailed, errors.Join(err, WithClass(sendErr, ClassDLQ))
		}
	case inv.runCtx.Err() != nil && isContextError(err):
		o, class = OutcomeFailed, ClassDeadline
	default:
		o = OutcomeFailed
		if cfg.IsOutage(err) {
			inv.breaker.outage()
		}
	}
	inv.record(i, o, cfg.Now().Sub(began), class, err)
	return o
}

// waves runs a BatchHandler: each wave hands it the next record of every
// unit still going (one record per FIFO message group, every record of a
// standard queue), so a group's records run in order and a failed record
// stops its group before anything later in it is handed over.
func (inv *invocation) waves() {
	defer close(inv.done)
	next := make([]int, len(inv.plan.units)) // position in each unit; -1 once it stopped
	for {
		var wave, units []int
		for u, unit := range inv.plan.units {
			if next[u] >= 0 && next[u] < len(unit) {
				wave = append(wave, unit[next[u]])
				units = append(units, u)
			}
		}
		if len(wave) == 0 {
			return
		}
		if o := inv.blocked(); o != "" {
			for _, u := range units {
				for _, i := range inv.plan.units[u][next[u]:] {
					if !inv.record(i, o, 0, blockedClass[o], nil) {
						return
					}
				}
			}
			return
		}
		msgs := make([]events.SQSMessage, len(wave))
		for k, i := range wave {
			if !inv.start(i) {
				return
			}
			msgs[k] = inv.plan.records[i]
		}
		began := inv.p.cfg.Now()
		errs := callBatch(inv.batchH, inv.runCtx, msgs)
		for k, i := range wave {
			u := units[k]
			next[u]++
			if inv.settle(i, errs[k], began).Reported() {
				for _, j := range inv.plan.units[u][next[u]:] {
					if !inv.record(j, OutcomeSkipped, 0, ClassSkipped, nil) {
						return
					}
				}
				next[u] = -1
			}
		}
	}
}

// blocked is the outcome of records that may not start now: the deadline
// or an open breaker; "" when they may.
func (inv *invocation) blocked() Outcome {
	switch {
	case inv.runCtx.Err() != nil:
		return OutcomeDeadline
	case inv.breaker.isOpen():
		return OutcomeBreaker
	}
	return ""
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// start marks record i as running; false once the invocation has returned.
func (inv *invocation) start(i int) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.closed {
		return false
	}
	inv.state[i] = stateRunning
	return true
}

// record stores and logs the outcome of record i; false (and the result is
// dropped) once the invocation has returned.
func (inv *invocation) record(i int, o Outcome, d time.Duration, class string, err error) bool {
	id := inv.plan.records[i].MessageId
	inv.mu.Lock()
	closed := inv.closed
	if !closed {
		inv.state[i], inv.outcomes[i], inv.classes[i] = stateDone, o, class
	}
	inv.mu.Unlock()
	if closed {
		inv.p.cfg.Logger.Warn("sqsbatch: late result dropped; the record was already reported failed",
			"message_id", id, "outcome", string(o))
		return false
	}
	inv.p.logRecord(inv.runCtx, id, o, d, class, err)
	return true
}

// close ends the invocation: records never started are OutcomeDeadline,
// records still running OutcomeAbandoned. It returns the outcomes and
// classes.
func (inv *invocation) close(ctx context.Context) ([]Outcome, []string) {
	inv.mu.Lock()
	inv.closed = true
	close(inv.stop)
	var late []int
	for _, i := range inv.plan.unique {
		switch inv.state[i] {
		case statePending:
			inv.outcomes[i] = OutcomeDeadline
			late = append(late, i)
		case stateRunning:
			inv.outcomes[i] = OutcomeAbandoned
			late = append(late, i)
		}
	}
	for _, i := range late {
		inv.classes[i] = blockedClass[inv.outcomes[i]]
	}
	outcomes, classes := inv.outcomes, inv.classes
	inv.mu.Unlock()
	for _, i := range late {
		inv.p.logRecord(ctx, inv.plan.records[i].MessageId, outcomes[i], 0, classes[i], nil)
	}
	return outcomes, classes
}
