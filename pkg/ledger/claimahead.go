package ledger

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// ClaimAheadProcessor runs a batch like the *sqsbatch.Processor it wraps,
// after claiming the keys of the batch in one request
// (idempotency.Guard.ClaimAhead): a new message then costs its completion's
// round trip only, however many records the batch has. Records whose body or
// key is invalid are left to Consumer.Handle, which fails them; claims of
// records that never ran are released when the batch ends.
type ClaimAheadProcessor struct {
	c    *Consumer
	proc *sqsbatch.Processor
}

// ClaimAhead wraps proc, a processor running c.Handle.
func (c *Consumer) ClaimAhead(proc *sqsbatch.Processor) *ClaimAheadProcessor {
	return &ClaimAheadProcessor{c: c, proc: proc}
}

var _ Handler = (*ClaimAheadProcessor)(nil)

// Handle is the Lambda handler: Process's response.
func (p *ClaimAheadProcessor) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	r, err := p.Process(ctx, batch)
	return r.Response, err
}

// Process claims the batch's keys ahead, then runs it as
// sqsbatch.Processor.Process does.
func (p *ClaimAheadProcessor) Process(ctx context.Context, batch events.SQSEvent) (sqsbatch.Report, error) {
	items := make([]idempotency.Item, 0, len(batch.Records))
	for _, msg := range batch.Records {
		ev, err := Decode([]byte(msg.Body))
		if err != nil {
			continue
		}
		key, err := p.c.cfg.Keys.Key(msg, ev.ID)
		if err != nil {
			continue
		}
		items = append(items, idempotency.Item{Key: key, Payload: ev.Canonical()})
	}
	ctx, release := p.c.cfg.Guard.ClaimAhead(ctx, items)
	defer release()
	return p.proc.Process(ctx, batch)
}
