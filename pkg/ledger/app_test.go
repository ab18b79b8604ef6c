package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadAppConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ledger.LoadAppConfig(env(map[string]string{"IDEMPOTENCY_TABLE": "i", "LEDGER_TABLE": "l"}))
	require.NoError(t, err)
	require.Equal(t, "payments", cfg.KeyPrefix)
	require.Equal(t, time.Hour, cfg.TTL)
	require.Equal(t, sqskey.SourceDefault, cfg.Keys)
	require.Equal(t, ledger.ModeTx, cfg.Mode)
	require.Equal(t, 8, cfg.Concurrency)
	require.Equal(t, ledger.CacheSizeDefault, cfg.CacheSize)
}

func TestLoadAppConfigNamesEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := ledger.LoadAppConfig(env(map[string]string{
		"IDEMPOTENCY_TTL": "soon", "CONCURRENCY": "0", "KEY_SOURCE": "id", "COMPLETION_MODE": "fast", "LOG_LEVEL": "loud",
	}))
	require.Error(t, err)
	for _, name := range []string{"IDEMPOTENCY_TABLE", "LEDGER_TABLE", "IDEMPOTENCY_TTL", "CONCURRENCY", "KEY_SOURCE", "COMPLETION_MODE", "LOG_LEVEL"} {
		require.Contains(t, err.Error(), name)
	}
}
