package guard

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"

	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// CompleteLinger is the longest a finished record's completion waits for
// those of the other records running in its batch before it is sent, with
// a store that implements BatchCompleter. A completion is sent as soon as
// every record of the batch that took its claim ahead has finished its work
// (or CompleteLinger after it was queued, or once MaxWave completions wait),
// so the time between an effect and its durable completion grows by at
// most CompleteLinger: the window in which a worker that dies lets its
// effect run again. A completion is reported to the caller only once the
// store has made it durable.
const CompleteLinger = 10 * time.Millisecond

// MaxWave is the most completions sent together by a Guard.
const MaxWave = 100

// wave is the completions of one batch queued to be sent together.
type wave struct {
	items  []*queued
	flush  chan struct{} // closed when the wave must be sent now
	closed bool          // flush is closed
	sent   bool          // a waiter took the wave to send it
}

// queued is one completion waiting in a wave.
type queued struct {
	in   idempotency.CompleteInput
	ctx  context.Context // the completing Do's finishing context
	done chan struct{}   // closed once err is known
	err  error
}

// complete queues a completion with the batch's others and returns once
// the store has answered for it. The caller's claim stops counting as
// running, so the wave may be sent as soon as no other claim is.
func (a *claimedAhead) complete(ctx context.Context, c *aheadClaim, in idempotency.CompleteInput) error {
	q := &queued{in: in, ctx: ctx, done: make(chan struct{})}
	a.mu.Lock()
	w := a.open
	if w == nil {
		w = &wave{flush: make(chan struct{})}
		a.open = w
	}
	w.items = append(w.items, q)
	a.leaveLocked(c)
	if len(w.items) >= MaxWave {
		a.closeLocked(w)
	}
	a.mu.Unlock()

	linger := time.NewTimer(CompleteLinger)
	defer linger.Stop()
	select {
	case <-w.flush:
	case <-linger.C:
	case <-q.done: // another waiter sent the wave
	case <-ctx.Done():
	}
	a.mu.Lock()
	if w.sent {
		a.mu.Unlock()
		<-q.done
		return q.err
	}
	if err := ctx.Err(); err != nil { // never sent: the record stays INPROGRESS
		w.items = slices.DeleteFunc(w.items, func(o *queued) bool { return o == q })
		a.mu.Unlock()
		return fmt.Errorf("complete %s: %w", in.Key, err)
	}
	w.sent = true
	a.closeLocked(w)
	a.mu.Unlock()
	a.send(w.items)
	return q.err
}

// leave marks c's Do as no longer running (its work failed, was replayed,
// or its claim was refused), which may let the batch's waiting
// completions go.
func (a *claimedAhead) leave(c *aheadClaim) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.leaveLocked(c)
}

// leaveLocked counts c's Do out of the running ones, once. When none is
// left running, the open wave goes. a.mu is held.
func (a *claimedAhead) leaveLocked(c *aheadClaim) {
	if c.left {
		return
	}
	c.left = true
	a.running--
	if a.running == 0 && a.open != nil {
		a.closeLocked(a.open)
	}
}

// closeLocked stops w taking completions and tells its waiters to send it.
// a.mu is held.
func (a *claimedAhead) closeLocked(w *wave) {
	if a.open == w {
		a.open = nil
	}
	if !w.closed {
		w.closed = true
		close(w.flush)
	}
}

// send completes the wave's items in one call of the store (Complete when
// only one is left) and answers each. A completion whose context has ended
// is not sent; the request is cancelled as soon as any item's context ends,
// so no completion commits after the finishBy time its Claims were given.
func (a *claimedAhead) send(items []*queued) {
	var live []*queued
	for _, q := range items {
		if err := q.ctx.Err(); err != nil {
			q.err = fmt.Errorf("complete %s: %w", q.in.Key, err)
			close(q.done)
			continue
		}
		live = append(live, q)
	}
	if len(live) == 0 {
		return
	}
	answered := false
	defer func() {
		if !answered { // the store panicked: its waiters must not wait forever
			for _, q := range live {
				q.err = errCompletePanicked
				close(q.done)
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.WithoutCancel(live[0].ctx))
	defer cancel()
	for _, q := range live {
		stop := context.AfterFunc(q.ctx, cancel)
		defer stop()
	}
	errs := make([]error, len(live))
	if len(live) == 1 {
		in := live[0].in
		errs[0] = a.store.Complete(ctx, in.Key, in.Token, in.Result, in.ExpiresAt)
	} else {
		in := make([]idempotency.CompleteInput, len(live))
		for i, q := range live {
			in[i] = q.in
		}
		if got := a.bc.CompleteBatch(ctx, in); len(got) == len(in) {
			errs = got
		} else {
			for i := range errs {
				errs[i] = fmt.Errorf("complete %s: %w: %d answers for %d completions", in[i].Key, errBatchCompleteFailed, len(got), len(in))
			}
		}
	}
	answered = true
	for i, q := range live {
		q.err = errs[i]
		close(q.done)
	}
}

var (
	errBatchCompleteFailed = errors.New("idempotency: batch completion failed")
	errCompletePanicked    = errors.New("idempotency: the store panicked completing a batch")
)
