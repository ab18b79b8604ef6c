package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// ClassInvalidPublish ("invalid-publish") is the class of a record whose
// effect publishes an event that can never be published
// (outbox.ErrInvalidEvent, an outbox item over DynamoDB's item size,
// Effect.Publish without Config.Outbox): a permanent failure of that record
// alone.
const ClassInvalidPublish = "invalid-publish"

// ErrNoOutbox is matched by the error of a record whose effect publishes
// events when Config.Outbox is nil.
var ErrNoOutbox = errors.New("sqsonce: Effect.Publish without Config.Outbox")

// withOutbox returns the effect's writes followed by the outbox items of its
// events, one per event, in order. With Config.Tracing, each event carries
// its record's trace context (traceContext), so the consumer it reaches
// next continues the trace.
func (h *Handler[R]) withOutbox(ctx context.Context, key string, eff Effect[R]) ([]dynamostore.Write, error) {
	if len(eff.Publish) == 0 {
		return eff.Writes, nil
	}
	if h.cfg.Outbox == nil {
		return nil, batch.Permanent(batch.WithClass(fmt.Errorf("%w: %d events", ErrNoOutbox, len(eff.Publish)), ClassInvalidPublish))
	}
	items, err := h.cfg.Outbox.Writes(h.cfg.KeyPrefix, key, h.traceContext(ctx, eff.Publish), h.cfg.Clock())
	if err != nil {
		return nil, batch.Permanent(batch.WithClass(fmt.Errorf("effect's events: %w", err), ClassInvalidPublish))
	}
	return append(slices.Clip(eff.Writes), items...), nil
}

// maxEventAttributes is how many message attributes of its own an event may
// have for its record's trace context to be added: SQS takes 10 per
// message, and the relay adds the event ID.
const maxEventAttributes = 8

// traceContext returns events with the trace context of ctx's span (W3C
// traceparent and tracestate) among their attributes, which the relay sends
// as message attributes (SQS, SNS). An event that sets traceparent itself,
// or has no room left, keeps its attributes as they are. Without tracing it
// returns events.
func (h *Handler[R]) traceContext(ctx context.Context, events []outbox.Event) []outbox.Event {
	if h.cfg.Tracing == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return events
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	out := make([]outbox.Event, len(events))
	for i, e := range events {
		out[i] = e
		if _, own := e.Attributes["traceparent"]; own || len(e.Attributes) > maxEventAttributes-len(carrier) {
			continue
		}
		out[i].Attributes = make(map[string]string, len(e.Attributes)+len(carrier))
		maps.Copy(out[i].Attributes, e.Attributes)
		maps.Copy(out[i].Attributes, carrier)
	}
	return out
}

// published reports whether the write whose condition failed is one of the
// effect's outbox items (appended by withOutbox): the item exists, so this
// key's effect committed before (its record expired since), and the key is
// completed without writing anything again.
func published[R any](eff Effect[R], wce *idempotency.WriteConditionError) bool {
	return wce.Index >= len(eff.Writes)-len(eff.Publish)
}

// validateOutbox checks Config.Outbox.
func (c Config) validateOutbox() error {
	if c.Outbox == nil {
		return nil
	}
	if ce := (*outbox.ConfigError)(nil); errors.As(c.Outbox.Validate(), &ce) {
		return &ConfigError{"Config.Outbox" + strings.TrimPrefix(ce.Field, "Table"), ce.Problem}
	}
	return nil
}
