package ledger_test

import (
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
	require.True(t, cfg.ClaimAhead)
}

func TestLoadAppConfigNamesEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := ledger.LoadAppConfig(env(map[string]string{
		"IDEMPOTENCY_TTL": "soon", "CONCURRENCY": "0", "KEY_SOURCE": "id", "COMPLETION_MODE": "fast", "LOG_LEVEL": "loud", "CLAIM_AHEAD": "maybe",
	}))
	require.Error(t, err)
	for _, name := range []string{"IDEMPOTENCY_TABLE", "LEDGER_TABLE", "IDEMPOTENCY_TTL", "CONCURRENCY", "KEY_SOURCE", "COMPLETION_MODE", "LOG_LEVEL", "CLAIM_AHEAD"} {
		require.Contains(t, err.Error(), name)
	}
}

func TestNewAppWiresBothPermanentDLQs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  ledger.AppConfig
	}{
		{"standard", ledger.AppConfig{PermanentDLQURL: "https://sqs/dlq"}},
		{"FIFO", ledger.AppConfig{PermanentFIFODLQ: "https://sqs/dlq.fifo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.IdempotencyTable, cfg.LedgerTable, cfg.KeyPrefix, cfg.TTL = "i", "l", "p", time.Hour
			_, _, err := ledger.NewApp(cfg, ledger.AppClients{DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"})}, io.Discard)
			require.ErrorContains(t, err, "no SQS client", "a DLQ URL without a client is refused, not ignored")
		})
	}
}
