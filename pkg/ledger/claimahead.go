package ledger

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// ClaimAhead wraps the batch handler next (a processor running c.Handle) so
// that the keys of each batch are claimed in one request before its records
// run (idempotency.Guard.ClaimAhead): a new message then costs its
// completion's round trip only, however many records the batch has. Records
// whose body or key is invalid are left to c.Handle, which fails them; claims
// of records that never ran are released when the batch ends.
func (c *Consumer) ClaimAhead(next Handler) Handler {
	return claimAheadHandler{c: c, next: next}
}

type claimAheadHandler struct {
	c    *Consumer
	next Handler
}

func (h claimAheadHandler) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	items := make([]idempotency.Item, 0, len(batch.Records))
	for _, msg := range batch.Records {
		ev, err := Decode([]byte(msg.Body))
		if err != nil {
			continue
		}
		key, err := h.c.cfg.Keys.Key(msg, ev.ID)
		if err != nil {
			continue
		}
		items = append(items, idempotency.Item{Key: key, Payload: ev.Canonical()})
	}
	ctx, release := h.c.cfg.Guard.ClaimAhead(ctx, items)
	defer release()
	return h.next.Handle(ctx, batch)
}
