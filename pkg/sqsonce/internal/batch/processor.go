package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// Processor runs the records of SQS batches through the handler each Run is
// given. It is safe for concurrent use; create one per Lambda function,
// outside the handler.
type Processor struct {
	cfg Config

	mu     sync.Mutex
	totals Counts
}

// Report is the result of one batch.
type Report struct {
	// Response is what the Lambda function returns: the failed message IDs.
	// BatchItemFailures is never nil, so it marshals as [].
	Response events.SQSEventResponse
	// Counts counts this batch's records by outcome.
	Counts Counts

	index    map[string]int
	outcomes []Outcome
	classes  []string
}

// Outcome returns the outcome of the record with the given message ID, and
// false when no such record was in the batch or none ran (see
// ErrMissingMessageID).
func (r Report) Outcome(messageID string) (Outcome, bool) {
	i, ok := r.index[messageID]
	if !ok || r.outcomes == nil {
		return "", false
	}
	return r.outcomes[i], true
}

// Class returns the error class of the record with the given message ID
// (ClassOf its error, or the class of why it never ran), "" when it
// succeeded or was not in the batch.
func (r Report) Class(messageID string) string {
	i, ok := r.index[messageID]
	if !ok || r.classes == nil {
		return ""
	}
	return r.classes[i]
}

// NewProcessor returns a Processor without a handler of its own: each Run
// is given the handler of that batch (a closure over the caller's
// per-batch state).
func NewProcessor(cfg Config) (*Processor, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Processor{cfg: cfg}, nil
}

// Run processes a batch and reports the outcome of every record: h runs
// each record, or, when h is nil, bh runs them in waves (one record per FIFO
// message group, every record of a standard queue, so that bh can apply
// them together; a record whose group failed earlier is never handed over,
// and no wave starts after the safety margin). The error is nil unless the
// whole batch must be retried (ErrMissingMessageID) or
// Config.ErrorOnAllFailed applies (ErrAllFailed).
func (p *Processor) Run(ctx context.Context, ev events.SQSEvent, h SlotHandler, bh BatchHandler) (Report, error) {
	if h == nil && bh == nil {
		return Report{}, errors.New("sqsbatch: Run without a handler")
	}
	report := Report{Response: events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}}
	report.Counts.Invocations = 1
	report.Counts.Records = len(ev.Records)
	pl, err := newPlan(ev.Records, p.cfg.FIFOMode)
	if err != nil {
		p.cfg.Logger.ErrorContext(ctx, "sqsbatch: batch rejected, Lambda will retry all of it",
			"records", len(ev.Records), "error", err.Error())
		p.finish(ctx, report.Counts)
		return report, err
	}
	report.index = pl.index
	report.outcomes, report.classes = newInvocation(p, pl, h, bh).run(ctx)
	report.Counts.Duplicates = pl.duplicates
	for _, i := range pl.unique {
		o := report.outcomes[i]
		report.Counts.count(o)
		if o.Reported() {
			report.Response.BatchItemFailures = append(report.Response.BatchItemFailures,
				events.SQSBatchItemFailure{ItemIdentifier: pl.records[i].MessageId})
		}
	}
	p.finish(ctx, report.Counts)
	if p.cfg.ErrorOnAllFailed && len(pl.unique) > 0 && report.Counts.Reported == len(pl.unique) {
		return report, fmt.Errorf("batch of %d records: %w", len(pl.unique), ErrAllFailed)
	}
	return report, nil
}

// Totals returns the counts of every batch processed so far.
func (p *Processor) Totals() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.totals
}

// finish adds a batch's counts to the totals and writes its metrics.
func (p *Processor) finish(ctx context.Context, c Counts) {
	p.mu.Lock()
	p.totals = p.totals.Add(c)
	p.mu.Unlock()
	if p.cfg.Metrics == nil {
		return
	}
	if err := p.cfg.Metrics.Write(c, p.cfg.Now()); err != nil {
		p.cfg.Logger.ErrorContext(ctx, "sqsbatch: write metrics", "error", err.Error())
	}
}

// callBatch runs the batch handler on one wave, turning a panic into a
// *PanicError for every record of the wave, and a result of the wrong length
// into an error for each record.
func callBatch(bh BatchHandler, ctx context.Context, msgs []events.SQSMessage) (errs []error) {
	defer func() {
		if v := recover(); v != nil {
			pe := &PanicError{Value: v, Stack: debug.Stack()}
			errs = make([]error, len(msgs))
			for i := range errs {
				errs[i] = pe
			}
		}
	}()
	errs = bh(ctx, msgs)
	if len(errs) != len(msgs) {
		bad := fmt.Errorf("sqsbatch: batch handler returned %d results for %d records", len(errs), len(msgs))
		errs = make([]error, len(msgs))
		for i := range errs {
			errs[i] = bad
		}
	}
	return errs
}

// call runs the handler, turning a panic into a *PanicError.
func call(h SlotHandler, ctx context.Context, msg events.SQSMessage, slot *Slot) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, msg, slot)
}
