package batch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// groupRecorder fails the records named in fail and records, per message
// group, the order in which records ran.
type groupRecorder struct {
	scripted
	fail map[string]bool
}

func (g *groupRecorder) handle(ctx context.Context, msg events.SQSMessage) error {
	if g.fail[msg.MessageId] {
		msg.Body = "fail-" + msg.Body
	}
	return g.scripted.handle(ctx, msg)
}

// ranInGroup returns the records of a group that ran, in the order they ran.
func (g *groupRecorder) ranInGroup(group string) []string {
	var out []string
	for _, body := range g.runs() {
		id := strings.TrimPrefix(body, "fail-")
		if id[:len(id)-1] == group {
			out = append(out, id)
		}
	}
	return out
}

func TestFIFO(t *testing.T) {
	t.Parallel()
	interleaved := []string{"A1", "B1", "A2", "B2", "A3", "B3", "A4", "B4"}
	tests := []struct {
		name      string
		mode      batch.FIFOMode
		event     events.SQSEvent
		fail      []string
		failures  []string
		ranA      []string
		ranB      []string
		skipped   int
		unordered bool // the records ran, in any order
	}{
		{
			name:     "skip group: later A records fail unrun, B completes in order",
			event:    fifo(interleaved...),
			fail:     []string{"A2"},
			failures: []string{"A2", "A3", "A4"},
			ranA:     []string{"A1", "A2"},
			ranB:     []string{"B1", "B2", "B3", "B4"},
			skipped:  2,
		},
		{
			name:     "strict: everything after the first failure fails unrun",
			mode:     batch.FIFOStrict,
			event:    fifo(interleaved...),
			fail:     []string{"A2"},
			failures: []string{"A2", "B2", "A3", "B3", "A4", "B4"},
			ranA:     []string{"A1", "A2"},
			ranB:     []string{"B1"},
			skipped:  5,
		},
		{
			name:     "no failure: both groups complete in order",
			event:    fifo(interleaved...),
			failures: []string{},
			ranA:     []string{"A1", "A2", "A3", "A4"},
			ranB:     []string{"B1", "B2", "B3", "B4"},
		},
		{
			// Fair queues: a standard queue's records carry MessageGroupId
			// too; they are not FIFO, so a failure skips nothing.
			name:      "a standard queue with group IDs is not FIFO",
			event:     withARN(fifo(interleaved...), standardARN),
			fail:      []string{"B1"},
			failures:  []string{"B1"},
			ranA:      []string{"A1", "A2", "A3", "A4"},
			ranB:      []string{"B1", "B2", "B3", "B4"},
			skipped:   0,
			unordered: true, // records of a standard queue run side by side
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &groupRecorder{fail: map[string]bool{}}
			for _, id := range tc.fail {
				h.fail[id] = true
			}
			p := newProcessor(t, h.handle, batch.Config{FIFOMode: tc.mode})
			report, err := p.Process(context.Background(), tc.event)
			require.NoError(t, err)
			require.Equal(t, tc.failures, failed(report.Response))
			if tc.unordered {
				require.ElementsMatch(t, tc.ranA, h.ranInGroup("A"))
				require.ElementsMatch(t, tc.ranB, h.ranInGroup("B"))
			} else {
				require.Equal(t, tc.ranA, h.ranInGroup("A"))
				require.Equal(t, tc.ranB, h.ranInGroup("B"))
			}
			require.Equal(t, tc.skipped, report.Counts.Skipped)
		})
	}
}

// TestFIFOGroupsRunInOrderUnderConcurrency runs many groups with a pool
// smaller than the number of groups and checks each group's order.
func TestFIFOGroupsRunInOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	var ids []string
	for seq := range 9 {
		for _, g := range "ABCDEFGHIJ" {
			ids = append(ids, string(g)+string(rune('1'+seq)))
		}
	}
	h := &groupRecorder{}
	p := newProcessor(t, h.handle, batch.Config{Concurrency: 3})
	report, err := p.Process(context.Background(), fifo(ids...))
	require.NoError(t, err)
	require.Empty(t, report.Response.BatchItemFailures)
	for _, g := range "ABCDEFGHIJ" {
		got := h.ranInGroup(string(g))
		require.Len(t, got, 9)
		for seq, id := range got {
			require.Equal(t, string(g)+string(rune('1'+seq)), id)
		}
	}
}

func withARN(ev events.SQSEvent, arn string) events.SQSEvent {
	for i := range ev.Records {
		ev.Records[i].EventSourceARN = arn
	}
	return ev
}
