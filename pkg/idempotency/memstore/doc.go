// Package memstore is an in-memory idempotency.Store for unit tests,
// examples and benchmarks that model the store.
//
// It follows the Store contract exactly (it passes storetest.Run), but it is
// local to one process: it does not survive a restart and is not shared
// between Lambda execution environments, so it gives no guarantee across
// workers. Use dynamostore in production.
package memstore
