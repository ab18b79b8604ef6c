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

func TestCommitConformance(t *testing.T) {
	t.Parallel()
	storetest.RunCommit(t,
		func(*testing.T) storetest.CommitStore[memstore.Write] { return memstore.New() },
		func(_ *testing.T, s storetest.CommitStore[memstore.Write]) storetest.Downstream[memstore.Write] {
			return storetest.Downstream[memstore.Write]{
				Put: func(item, value string) memstore.Write { return memstore.Write{Item: item, Value: value} },
				PutNew: func(item, value string) memstore.Write {
					return memstore.Write{Item: item, Value: value, IfAbsent: true}
				},
				Read: func(_ *testing.T, item string) (string, bool) { return s.(*memstore.Store).Item(item) },
			}
		})
}

func TestCompleteBatchConformance(t *testing.T) {
	t.Parallel()
	storetest.RunCompleteBatch(t, func(*testing.T) storetest.CompleteStore { return memstore.New() })
}
