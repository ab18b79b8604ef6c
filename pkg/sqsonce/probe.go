package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// ProbeKey is the stored key the store's health probe reads. Nothing writes
// it: a probe spends no message and changes nothing.
const ProbeKey = "sqsonce#probe"

// CheckStore reports whether store answers: it reads ProbeKey, and returns
// nil when the store answered (found or not found) and the store's error
// otherwise.
func CheckStore(ctx context.Context, store idempotency.Store) error {
	if _, err := store.Get(ctx, ProbeKey); err != nil && !errors.Is(err, idempotency.ErrNotFound) {
		return fmt.Errorf("probe the idempotency store: %w", err)
	}
	return nil
}

// ProbeReport is what a Probe found and did.
type ProbeReport struct {
	// StoreError is why the store did not answer; "" when it did.
	StoreError string `json:"storeError,omitempty"`
	// Mappings are the function's event source mappings after the probe
	// (none without Config.Pause).
	Mappings []Mapping `json:"mappings"`
	// Resumed are the UUIDs of the mappings the probe enabled again.
	Resumed []string `json:"resumed,omitempty"`
}

// Probe reads the store (CheckStore) and, with Config.Pause, resumes the
// function's event source mappings paused by a store outage once the store
// answers; it never resumes a mapping an operator paused. It writes
// MetricConsumerPaused and MetricPausedSeconds. Run it on a schedule (every
// minute, say): Invoke runs it for the event {"sqsonce":"probe"} and for
// EventBridge's scheduled events. Its error is about the Lambda API; a
// store that does not answer is a StoreError in the report.
func (h *Handler[R]) Probe(ctx context.Context) (ProbeReport, error) {
	rep := ProbeReport{Mappings: []Mapping{}}
	storeErr := CheckStore(ctx, h.store)
	if storeErr != nil {
		rep.StoreError = storeErr.Error()
	} else {
		h.health.reset()
	}
	if h.pauser == nil {
		return rep, nil
	}
	log := h.cfg.Logger
	ms, err := h.pauser.status(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	for i, m := range ms {
		if m.PausedBy != PausedByStoreOutage || storeErr != nil {
			continue
		}
		if err := h.pauser.resume(ctx, m); err != nil {
			errs = append(errs, err)
			continue
		}
		state := m.State
		if m.Paused() {
			rep.Resumed = append(rep.Resumed, m.UUID)
			log.InfoContext(ctx, "sqsonce: consumption resumed: the idempotency store answers", "mapping", m.UUID,
				"paused_for", h.cfg.Clock().Sub(m.PausedAt).Round(time.Second).String())
			state = "Enabling"
		}
		ms[i] = Mapping{UUID: m.UUID, ARN: m.ARN, EventSourceARN: m.EventSourceARN, State: state}
	}
	rep.Mappings = ms
	paused, longest := 0, time.Duration(0)
	for _, m := range ms {
		if m.Paused() {
			paused = 1
			if !m.PausedAt.IsZero() {
				longest = max(longest, h.cfg.Clock().Sub(m.PausedAt))
			}
		}
	}
	if paused == 1 {
		log.WarnContext(ctx, "sqsonce: consumption is paused", "store_error", rep.StoreError, "paused_for", longest.Round(time.Second).String())
	}
	h.writeMetrics(ctx, batch.Metric{Name: MetricConsumerPaused, Value: paused},
		batch.Metric{Name: MetricPausedSeconds, Value: int(longest / time.Second)})
	return rep, errors.Join(errs...)
}
