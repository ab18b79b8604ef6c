package redisstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
)

// newStore runs each case of the suite on a server of its own: the cases
// reuse their keys.
func newStore(t *testing.T) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(redistest.Start(t).Client())
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
