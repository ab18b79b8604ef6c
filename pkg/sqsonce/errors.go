package sqsonce

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// The errors a caller of [Once.Do] branches on, matched with errors.Is. They
// are the idempotency core's own sentinels (the same values), so an error of
// any sqsonce or idempotency call matches them.
var (
	// ErrInProgress means another call holds a live claim on the key: the
	// first request is still running. Nothing ran. Answer it as a conflict
	// to retry later (HTTP 409); an SQS record is retried by SQS.
	ErrInProgress = idempotency.ErrInProgress

	// ErrPayloadMismatch means the key was used before with another payload:
	// the caller reused an idempotency key for a different request. Nothing
	// ran. It is permanent (HTTP 422).
	ErrPayloadMismatch = idempotency.ErrPayloadMismatch

	// ErrLeaseLost means the function ran, but its claim had expired and was
	// taken over before the result was stored: the result was not recorded,
	// and another call may run the function too.
	ErrLeaseLost = idempotency.ErrLeaseLost

	// ErrStoreFailed matches every error caused by the idempotency store
	// itself (network, throttling, an outage). The function did not run,
	// unless the failure was in storing its result. Retry later (HTTP 503).
	ErrStoreFailed = idempotency.ErrStoreFailed

	// ErrMissingKey means there is no idempotency key: [Once.Do] was given
	// an empty one, or a [KeyFunc] found none in a message (a permanent
	// failure of class [ClassMissingKey]). Nothing ran (HTTP 400).
	ErrMissingKey = sqskey.ErrMissingKey
)
