package redisstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
)

// newStore runs each case of the suite on a server of its own: the cases
// reuse their keys.
func newStore(t *testing.T) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), redistest.Start(t).Client())
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) idempotency.Store { return newStore(t) })
}

func TestBatchConformance(t *testing.T) {
	t.Parallel()
	storetest.RunBatch(t, func(t *testing.T) storetest.BatchStore { return newStore(t) })
}

// An invalid argument of New or Dial is a *ConfigError naming it.
func TestConfigErrorsNameTheArgument(t *testing.T) {
	t.Parallel()
	_, err := redisstore.New(context.Background(), nil)
	requireConfigError(t, err, "client")
	for _, tc := range []struct {
		url     string
		cluster bool
	}{
		{"http://127.0.0.1:6379", false},
		{"127.0.0.1:6379", true},
	} {
		_, err := redisstore.Dial(tc.url, tc.cluster)
		requireConfigError(t, err, "url")
	}
	client, err := redisstore.Dial("rediss://user:secret@127.0.0.1:6380/0", false)
	require.NoError(t, err)
	require.NoError(t, client.Close())
}

func requireConfigError(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, redisstore.ErrInvalidConfig)
	var cerr *redisstore.ConfigError
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, field, cerr.Field)
}
