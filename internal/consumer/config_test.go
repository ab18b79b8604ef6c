package consumer_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_TABLE": "i", "LEDGER_TABLE": "l"}))
	require.NoError(t, err)
	require.Equal(t, "payments", cfg.KeyPrefix)
	require.Equal(t, idempotency.TTLDefault, cfg.TTL)
	require.Equal(t, 14*24*time.Hour, cfg.TTL, "the default TTL covers a DLQ's longest retention")
	require.Equal(t, sqskey.Source{Kind: sqskey.BodyField}, cfg.Keys)
	require.Equal(t, dynamostore.TxConcurrencyDefault, cfg.Concurrency)
	require.Equal(t, sqsonce.CacheSizeDefault, cfg.CacheSize)
	require.Equal(t, sqsonce.BreakAfterDefault, cfg.BreakAfter)
	require.False(t, cfg.PauseOnStoreOutage)
	require.Equal(t, sqsonce.PauseAfterDefault, cfg.PauseAfter)
}

func TestLoadConfigNamesEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := consumer.LoadConfig(env(map[string]string{
		"IDEMPOTENCY_TTL": "soon", "CONCURRENCY": "0", "KEY_SOURCE": "id", "LOG_LEVEL": "loud",
		"PAUSE_ON_STORE_OUTAGE": "sometimes", "PAUSE_AFTER": "-1m",
	}))
	require.ErrorIs(t, err, consumer.ErrInvalidConfig)
	var named []string
	for _, e := range errors.Unwrap(err).(interface{ Unwrap() []error }).Unwrap() {
		var cerr *consumer.ConfigError
		require.ErrorAs(t, e, &cerr)
		named = append(named, cerr.Variable)
	}
	require.ElementsMatch(t, []string{"IDEMPOTENCY_TABLE", "LEDGER_TABLE", "IDEMPOTENCY_TTL", "CONCURRENCY", "KEY_SOURCE", "LOG_LEVEL",
		"PAUSE_ON_STORE_OUTAGE", "PAUSE_AFTER"}, named)
}

// A TTL shorter than the longest lease is refused at the cold start, with
// both values named.
func TestLoadConfigRefusesTTLShorterThanTheLease(t *testing.T) {
	t.Parallel()
	_, err := consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_TABLE": "i", "LEDGER_TABLE": "l", "IDEMPOTENCY_TTL": "10s"}))
	require.ErrorContains(t, err, "IDEMPOTENCY_TTL: 10s is shorter than the longest lease, 15m5s")
	cfg, err := consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_TABLE": "i", "LEDGER_TABLE": "l", "IDEMPOTENCY_TTL": "96h"}))
	require.NoError(t, err)
	require.Equal(t, 96*time.Hour, cfg.TTL)
}

func TestNewWiresBothPermanentDLQs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  consumer.Config
	}{
		{"standard", consumer.Config{PermanentDLQURL: "https://sqs/dlq"}},
		{"FIFO", consumer.Config{PermanentFIFODLQ: "https://sqs/dlq.fifo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.IdempotencyTable, cfg.LedgerTable, cfg.KeyPrefix, cfg.TTL = "i", "l", "p", time.Hour
			_, err := consumer.New(cfg, consumer.Clients{DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"})}, io.Discard)
			require.ErrorContains(t, err, "no SQS client", "a DLQ URL without a client is refused, not ignored")
		})
	}
}

// The idempotency records can live in a shared table: a composite key whose
// partition values spread over shards.
func TestLoadConfigSingleTableLayout(t *testing.T) {
	t.Parallel()
	cfg, err := consumer.LoadConfig(env(map[string]string{
		"IDEMPOTENCY_TABLE": "app", "LEDGER_TABLE": "l", "IDEMPOTENCY_PARTITION_KEY": "pk",
		"IDEMPOTENCY_SORT_KEY": "sk", "IDEMPOTENCY_SHARDS": "8", "IDEMPOTENCY_TTL_ATTRIBUTE": "ttl",
	}))
	require.NoError(t, err)
	require.Equal(t, dynamostore.Layout{KeyAttr: "pk", SortKeyAttr: "sk", Shards: 8, ExpirationAttr: "ttl"}, cfg.Layout)
	_, err = consumer.LoadConfig(env(map[string]string{"IDEMPOTENCY_TABLE": "app", "LEDGER_TABLE": "l", "IDEMPOTENCY_SHARDS": "8"}))
	require.ErrorContains(t, err, "IDEMPOTENCY_SHARDS")
}
