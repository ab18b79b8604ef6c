package idempotency

import (
	"context"
	"time"
)

// ClaimInput is one claim attempt. Times are given by the claimer, so
// stores hold no clock.
type ClaimInput struct {
	Key         string    // stored key
	Token       string    // random owner token of this claim
	PayloadHash string    // empty when payload validation is off
	Now         time.Time // the claimer's clock
	LeaseUntil  time.Time // lease expiry written with the claim
	ExpiresAt   time.Time // TTL written with the claim
}

// Store is the port to an idempotency store. Every implementation must pass
// storetest.Run. The contract:
//
//   - Claim atomically writes an INPROGRESS record (token, lease, TTL, hash)
//     when the key has no record, or its record has expired (ExpiresAt before
//     Now, second precision), or it is INPROGRESS with an expired lease
//     (LeaseUntil before Now, millisecond precision). It then returns the
//     written record and nil. Otherwise it writes nothing and returns the live
//     record with: nil if the record is this claim's own (same token: a
//     retried request whose first attempt succeeded); ErrPayloadMismatch if the record is COMPLETED and both it and
//     the input carry a payload hash and they differ; ErrAlreadyCompleted if it
//     is COMPLETED; ErrInProgress if it is INPROGRESS. Of concurrent claims on
//     one key, at most one succeeds.
//   - Complete sets the record COMPLETED with the result and the new TTL, only
//     if it is INPROGRESS and holds token; if it is already COMPLETED under
//     token (a retried request) it changes nothing and returns nil; otherwise
//     it changes nothing and returns ErrLeaseLost.
//   - Release deletes the record, only if it is INPROGRESS and holds token;
//     otherwise it changes nothing and returns ErrLeaseLost.
//   - Get returns the record, or ErrNotFound. Expired records may still be
//     returned until the store deletes them.
//
// Any other error is a store failure; sqsonce wraps it in a StoreError.
type Store interface {
	Claim(ctx context.Context, in ClaimInput) (Record, error)
	Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error
	Release(ctx context.Context, key, token string) error
	Get(ctx context.Context, key string) (Record, error)
}

// JudgeConflict gives the error Claim returns when a live record blocked the
// claim. Stores call it so they all judge a conflict the same way.
func JudgeConflict(existing Record, in ClaimInput) error {
	switch {
	case existing.Status == StatusInProgress && in.Token != "" && existing.Token == in.Token:
		return nil // this very claim: a retried request whose first attempt succeeded
	case existing.Status == StatusCompleted && existing.PayloadHash != "" && in.PayloadHash != "" &&
		existing.PayloadHash != in.PayloadHash:
		return ErrPayloadMismatch
	case existing.Status == StatusCompleted:
		return ErrAlreadyCompleted
	default:
		return ErrInProgress
	}
}
