package batch_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

func TestProcessResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      batch.Config
		event    events.SQSEvent
		failures []string
		runs     int
		counts   batch.Counts
	}{
		{
			name:     "all succeed",
			event:    standard("ok-1", "ok-2", "ok-3"),
			failures: []string{},
			runs:     3,
			counts:   batch.Counts{Invocations: 1, Records: 3, Succeeded: 3},
		},
		{
			name:     "some fail",
			event:    standard("ok-1", "fail-2", "ok-3", "fail-4"),
			failures: []string{"fail-2", "fail-4"},
			runs:     4,
			counts:   batch.Counts{Invocations: 1, Records: 4, Reported: 2, Succeeded: 2, Failed: 2},
		},
		{
			name:     "all fail",
			event:    standard("fail-1", "fail-2"),
			failures: []string{"fail-1", "fail-2"},
			runs:     2,
			counts:   batch.Counts{Invocations: 1, Records: 2, Reported: 2, Failed: 2},
		},
		{
			name:     "empty batch",
			event:    events.SQSEvent{},
			failures: []string{},
			counts:   batch.Counts{Invocations: 1},
		},
		{
			name:     "panic fails only its record",
			event:    standard("ok-1", "panic-2", "ok-3"),
			failures: []string{"panic-2"},
			runs:     3,
			counts:   batch.Counts{Invocations: 1, Records: 3, Reported: 1, Succeeded: 2, Panicked: 1},
		},
		{
			name:     "duplicate IDs run once and are reported once",
			event:    standard("fail-1", "ok-2", "fail-1", "ok-2"),
			failures: []string{"fail-1"},
			runs:     2,
			counts:   batch.Counts{Invocations: 1, Records: 4, Duplicates: 2, Reported: 1, Succeeded: 1, Failed: 1},
		},
		{
			name:     "permanent error is reported without a DLQ",
			event:    standard("ok-1", "perm-2"),
			failures: []string{"perm-2"},
			runs:     2,
			counts:   batch.Counts{Invocations: 1, Records: 2, Reported: 1, Succeeded: 1, Permanent: 1},
		},
		{
			name:     "permanent error goes to the DLQ and is not reported",
			cfg:      batch.Config{DLQ: &batch.DLQ{Client: &recordingSender{}, QueueURL: "https://sqs/dlq"}},
			event:    standard("ok-1", "perm-2"),
			failures: []string{},
			runs:     2,
			counts:   batch.Counts{Invocations: 1, Records: 2, Succeeded: 1, SentToDLQ: 1},
		},
		{
			name:     "a DLQ that refuses falls back to a reported failure",
			cfg:      batch.Config{DLQ: &batch.DLQ{Client: &recordingSender{err: errBoom}, QueueURL: "https://sqs/dlq"}},
			event:    standard("ok-1", "perm-2"),
			failures: []string{"perm-2"},
			runs:     2,
			counts:   batch.Counts{Invocations: 1, Records: 2, Reported: 1, Succeeded: 1, DLQFailed: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &scripted{}
			p := newProcessor(t, h.handle, tc.cfg)
			report, err := p.Process(context.Background(), tc.event)
			require.NoError(t, err)
			require.Equal(t, tc.failures, failed(report.Response))
			require.Len(t, h.runs(), tc.runs)
			require.Equal(t, tc.counts, report.Counts)
			require.Equal(t, tc.counts, p.Totals())

			resp, err := p.Handle(context.Background(), tc.event)
			require.NoError(t, err)
			require.Equal(t, report.Response, resp)
			require.Equal(t, tc.counts.Add(tc.counts), p.Totals())
		})
	}
}

func TestEmptyBatchMarshalsAsEmptyList(t *testing.T) {
	t.Parallel()
	p := newProcessor(t, (&scripted{}).handle, batch.Config{})
	resp, err := p.Handle(context.Background(), events.SQSEvent{})
	require.NoError(t, err)
	out, err := json.Marshal(resp)
	require.NoError(t, err)
	require.JSONEq(t, `{"batchItemFailures":[]}`, string(out))
}

func TestOutcomeOfEachRecord(t *testing.T) {
	t.Parallel()
	p := newProcessor(t, (&scripted{}).handle, batch.Config{})
	report, err := p.Process(context.Background(), standard("ok-1", "fail-2", "panic-3", "perm-4"))
	require.NoError(t, err)
	for id, want := range map[string]batch.Outcome{
		"ok-1": batch.OutcomeSucceeded, "fail-2": batch.OutcomeFailed,
		"panic-3": batch.OutcomePanicked, "perm-4": batch.OutcomePermanent,
	} {
		got, ok := report.Outcome(id)
		require.True(t, ok, id)
		require.Equal(t, want, got, id)
	}
	_, ok := report.Outcome("not-in-batch")
	require.False(t, ok)
}

func TestErrorOnAllFailed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		event   events.SQSEvent
		wantErr bool
	}{
		{"all fail", standard("fail-1", "panic-2"), true},
		{"one succeeds", standard("fail-1", "ok-2"), false},
		{"empty batch", events.SQSEvent{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProcessor(t, (&scripted{}).handle, batch.Config{ErrorOnAllFailed: true})
			report, err := p.Process(context.Background(), tc.event)
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, batch.ErrAllFailed)
			require.Len(t, report.Response.BatchItemFailures, len(tc.event.Records))
		})
	}
}

func TestMissingMessageIDRetriesTheWholeBatch(t *testing.T) {
	t.Parallel()
	h := &scripted{}
	p := newProcessor(t, h.handle, batch.Config{})
	ev := standard("ok-1", "", "ok-3")
	report, err := p.Process(context.Background(), ev)
	require.ErrorIs(t, err, batch.ErrMissingMessageID)
	require.Empty(t, h.runs(), "no record may run when the batch will be retried whole")
	require.NotNil(t, report.Response.BatchItemFailures)
	require.Empty(t, report.Response.BatchItemFailures)
	_, ok := report.Outcome("ok-1")
	require.False(t, ok)
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   batch.Config
		field string
	}{
		{"negative concurrency", batch.Config{Concurrency: -1}, "Concurrency"},
		{"negative margin", batch.Config{SafetyMargin: -1}, "SafetyMargin"},
		{"unknown FIFO mode", batch.Config{FIFOMode: 7}, "FIFOMode"},
		{"DLQ without client", batch.Config{DLQ: &batch.DLQ{QueueURL: "u"}}, "DLQ.Client"},
		{"DLQ without URL", batch.Config{DLQ: &batch.DLQ{Client: &recordingSender{}}}, "DLQ.QueueURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := batch.NewProcessor(tc.cfg)
			require.ErrorIs(t, err, batch.ErrInvalidConfig)
			var ce *batch.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.field, ce.Field)
		})
	}
	p, err := batch.NewProcessor(batch.Config{})
	require.NoError(t, err)
	_, err = p.Run(context.Background(), standard("m-1"), nil, nil)
	require.Error(t, err, "a run without a handler")
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	cfg := batch.Config{}.WithDefaults()
	require.Equal(t, batch.ConcurrencyDefault, cfg.Concurrency)
	require.Equal(t, batch.SafetyMarginDefault, cfg.SafetyMargin)
	require.Equal(t, batch.FIFOSkipGroup, cfg.FIFOMode)
	require.NotNil(t, cfg.Logger)
	require.NotNil(t, cfg.Now)
	require.True(t, cfg.IsOutage(errBoom))
	require.False(t, cfg.IsOutage(batch.Permanent(errBoom)))
	require.Equal(t, batch.BreakAfterDefault, cfg.BreakAfter)
	require.Nil(t, cfg.DLQ)

	kept := batch.Config{Concurrency: 3, SafetyMargin: 5}.WithDefaults()
	require.Equal(t, 3, kept.Concurrency)
	require.EqualValues(t, 5, kept.SafetyMargin)
}
