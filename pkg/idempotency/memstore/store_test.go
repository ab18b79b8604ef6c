package memstore_test

import (
	"testing"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) idempotency.Store { return memstore.New() })
}

func TestBatchConformance(t *testing.T) {
	t.Parallel()
	storetest.RunBatch(t, func(*testing.T) storetest.BatchStore { return memstore.New() })
}
