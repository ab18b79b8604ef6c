package sqsoncetest

import "github.com/sqsonce/sqsonce/pkg/idempotency/memstore"

// NewStore returns an empty in-memory idempotency store, for
// [github.com/sqsonce/sqsonce/pkg/sqsonce.New] and
// [github.com/sqsonce/sqsonce/pkg/sqsonce.NewOnce] in tests. Its records
// live as long as it does: share one store between two handlers to test a
// redelivery across invocations.
func NewStore() *memstore.Store { return memstore.New() }
