package demo_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/demo"
)

// held is a report in which every invariant holds.
func held() demo.Report {
	return demo.Report{
		Prefix: "sqsonce-demo-test", Workers: 2,
		UniqueEvents: 4, Retries: 1, Invalid: 1, Sent: 6,
		Outcomes:      demo.Outcomes{Executed: 4, Replayed: 1},
		DLQ:           1,
		LedgerEntries: 4,
		Accounts: []demo.AccountReport{
			{Account: "acc-1", Expected: 300, Balance: 300, Sum: 300, Events: 3, Entries: 3, Counted: 3},
			{Account: "acc-2", Expected: -5, Balance: -5, Sum: -5, Events: 1, Entries: 1, Counted: 1},
		},
	}
}

func TestReportViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(r *demo.Report)
		want   string
	}{
		{"held", func(*demo.Report) {}, ""},
		{"an event applied twice", func(r *demo.Report) {
			r.Outcomes.Executed, r.Outcomes.Replayed = 5, 0
			r.Accounts[0].Balance, r.Accounts[0].Counted = 400, 4
		}, "executed: 5, want 4"},
		{"a balance off", func(r *demo.Report) { r.Accounts[1].Balance = -10 }, "acc-2: balance -10"},
		{"an entry missing", func(r *demo.Report) { r.LedgerEntries, r.Accounts[0].Entries = 3, 2 }, "ledger entries: 3, want 4"},
		{"a poison message not in the DLQ", func(r *demo.Report) { r.DLQ = 0 }, "DLQ depth: 0, want 1"},
		{"a retry neither replayed nor applied", func(r *demo.Report) { r.Outcomes.Replayed = 0 }, "want at least 1"},
		{"a message never sent", func(r *demo.Report) { r.Sent, r.Unsent = 5, 1 }, "messages sent: 5 of 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := held()
			tt.change(&r)
			var b strings.Builder
			_, err := r.WriteTo(&b)
			require.NoError(t, err)
			if tt.want == "" {
				require.True(t, r.Holds())
				require.Contains(t, b.String(), "exactly once: held")
				return
			}
			require.False(t, r.Holds())
			require.Contains(t, strings.Join(r.Violations(), "\n"), tt.want)
			require.Contains(t, b.String(), "exactly once: VIOLATED\n  - ")
			require.Contains(t, b.String(), tt.want)
		})
	}
}

// The second stage's report: each stage says whether it held.
func TestReportStage2(t *testing.T) {
	t.Parallel()
	r := held()
	r.Stage2 = &demo.Stage2Report{
		OutboxItems: 4, Outcomes: demo.Outcomes{Executed: 4, Replayed: 4}, LedgerEntries: 4, RelayPasses: 2,
		Accounts: []demo.AccountReport{{Account: "acc-1", Expected: 300, Balance: 300, Sum: 300, Events: 3, Entries: 3}},
	}
	var b strings.Builder
	_, err := r.WriteTo(&b)
	require.NoError(t, err)
	require.True(t, r.Holds())
	require.Contains(t, b.String(), "stage 1 (ledger events -> consumer -> ledger): exactly once: held")
	require.Contains(t, b.String(), "stage 2 (BalanceChanged -> outbox -> relay -> second consumer): exactly once: held")

	r.Stage2.Outcomes.Executed = 5 // a notification applied twice
	b.Reset()
	_, err = r.WriteTo(&b)
	require.NoError(t, err)
	require.False(t, r.Holds())
	require.Contains(t, b.String(), "stage 1 (ledger events -> consumer -> ledger): exactly once: held")
	require.Contains(t, b.String(), "stage 2 (BalanceChanged -> outbox -> relay -> second consumer): exactly once: VIOLATED")
	require.Contains(t, b.String(), "stage 2: executed: 5, want 4")
}
