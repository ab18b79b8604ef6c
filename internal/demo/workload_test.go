package demo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/demo"
	"github.com/sqsonce/sqsonce/pkg/ledger"
)

func TestNewWorkload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                               string
		cfg                                demo.WorkloadConfig
		wantMessages, wantRetries, wantBad int
	}{
		{"defaults of the demo", demo.WorkloadConfig{Events: 300, Accounts: 5, RetryShare: 0.2, Invalid: 5, Seed: 1}, 365, 60, 5},
		{"no retries, every kind of invalid body twice", demo.WorkloadConfig{Events: 10, Accounts: 3, Invalid: 16, Seed: 2}, 26, 0, 16},
		{"every event retried", demo.WorkloadConfig{Events: 7, Accounts: 7, RetryShare: 1, Seed: 3}, 14, 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := demo.NewWorkload(tt.cfg)
			require.Len(t, w.Messages, tt.wantMessages)
			require.Equal(t, tt.wantRetries, w.Retries)
			require.Equal(t, tt.wantBad, w.Invalid)
			require.Len(t, w.Events, tt.cfg.Events)
			require.Len(t, w.Accounts(), tt.cfg.Accounts)

			seen := map[string]int{}
			sums := map[string]int64{}
			invalid := 0
			for _, m := range w.Messages {
				e, err := ledger.Decode([]byte(m.Body))
				if err != nil {
					require.ErrorIs(t, err, ledger.ErrInvalidEvent)
					invalid++
					continue
				}
				if seen[e.ID]++; seen[e.ID] == 1 {
					sums[e.Account] += e.Amount
				}
			}
			require.Equal(t, tt.wantBad, invalid, "every invalid body is refused by ledger.Decode")
			require.Len(t, seen, tt.cfg.Events)
			sent := 0
			for _, n := range seen {
				sent += n
			}
			require.Equal(t, tt.cfg.Events+tt.wantRetries, sent)
			for a, exp := range w.Expected {
				require.Equal(t, exp.Balance, sums[a], a)
			}
			require.Equal(t, w.Messages, demo.NewWorkload(tt.cfg).Messages, "a seed gives the same workload")
		})
	}
}
