// Package storetest is the conformance suite of the idempotency.Store
// contract. Every store runs it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) idempotency.Store { return newStore(t) })
//	}
//
// The suite passes times explicitly, so it never sleeps; each case gets a
// fresh store from newStore and uses its own keys.
package storetest
