package sqsonce

import (
	"context"
	"errors"
	"fmt"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// ProbeKey is the stored key the store's health probe reads. Nothing writes
// it: a probe spends no message and changes nothing.
const ProbeKey = "sqsonce#probe"

// CheckStore reports whether store answers: it reads ProbeKey, and returns
// nil when the store answered (found or not found) and the store's error
// otherwise.
func CheckStore(ctx context.Context, store idempotency.Store) error {
	if _, err := store.Get(ctx, ProbeKey); err != nil && !errors.Is(err, idempotency.ErrNotFound) {
		return fmt.Errorf("probe the idempotency store: %w", err)
	}
	return nil
}
