package sqsonce

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// containOutage runs after a batch: it backs off the records the store
// failed, and those held by a live claim until its lease ends
// (Config.Backoff), and, once the store has been down for Pause.After,
// pauses consumption (Config.Pause).
func (h *Handler[R]) containOutage(ctx context.Context, ev events.SQSEvent, r batch.Report, inv *invocation, c Counts, began time.Time) {
	now := h.cfg.Clock()
	failed, answered := storeSeen(c)
	down := h.health.observe(now, failed, answered)
	log := h.cfg.Logger
	if h.backoff != nil && (failed || c.InProgress > 0) {
		n, err := h.backoff.hide(ctx, ev, r, inv.heldUntil, now, now.Sub(began))
		if err != nil {
			log.ErrorContext(ctx, "sqsonce: back off records", "error", err.Error())
		}
		if n > 0 {
			log.WarnContext(ctx, "sqsonce: records failed by the store, or held by a live claim, hidden for longer", "records", n)
		}
	}
	if !failed || h.pauser == nil || down < h.pauser.cfg.After || len(ev.Records) == 0 {
		return
	}
	reason := fmt.Sprintf("the idempotency store has failed for %s without an answer", down.Round(time.Second))
	paused, err := h.pauser.pause(ctx, ev.Records[0].EventSourceARN, reason)
	if err != nil {
		log.ErrorContext(ctx, "sqsonce: pause consumption", "error", err.Error())
	}
	if len(paused) > 0 {
		log.WarnContext(ctx, "sqsonce: consumption paused until the idempotency store answers", "mappings", paused, "reason", reason)
		h.writeMetrics(ctx, batch.Metric{Name: MetricConsumerPaused, Value: 1})
	}
}

// Metrics of pausing, beside Counts.
const (
	// MetricConsumerPaused is 1 when consumption was paused (by the
	// Handler, and at each Probe while any of the function's mappings is
	// disabled), 0 at a Probe that finds every mapping enabled.
	MetricConsumerPaused = "ConsumerPaused"
	// MetricPausedSeconds is, at each Probe, how long the longest pause so
	// far has lasted.
	MetricPausedSeconds = "PausedSeconds"
)

// writeMetrics writes metrics as one EMF line when Config.Metrics is set.
func (h *Handler[R]) writeMetrics(ctx context.Context, ms ...batch.Metric) {
	if h.cfg.Metrics == nil {
		return
	}
	if err := h.cfg.Metrics.write(h.cfg.Clock(), ms...); err != nil {
		h.cfg.Logger.ErrorContext(ctx, "sqsonce: write metrics", "error", err.Error())
	}
}
