package idempotency

import "time"

// Status is the state of an idempotency record.
type Status string

const (
	// StatusInProgress marks a key claimed by a worker whose lease may still be live.
	StatusInProgress Status = "INPROGRESS"
	// StatusCompleted marks a key whose work finished; its result is replayed.
	StatusCompleted Status = "COMPLETED"
)

// Record is what a Store keeps per key. Attribute names in DynamoDB follow
// Powertools for AWS Lambda (id, status, expiration, in_progress_expiration,
// data, validation) plus owner_token.
type Record struct {
	// Key is the stored key: the configured prefix and the SHA-256 of the
	// business key, never the raw key.
	Key string
	// Status is INPROGRESS or COMPLETED.
	Status Status
	// ExpiresAt is when the record stops protecting the key (the TTL
	// attribute, stored in epoch seconds).
	ExpiresAt time.Time
	// LeaseUntil is when an INPROGRESS claim may be taken over (stored in
	// epoch milliseconds).
	LeaseUntil time.Time
	// PayloadHash is the SHA-256 of the payload, empty when validation is off.
	PayloadHash string
	// Token identifies the claim that owns the record; random per claim.
	Token string
	// Result is the stored result of a completed record, replayed to duplicates.
	Result []byte
}

// Live reports whether the record still blocks a claim at now: its TTL has
// not passed and, if in progress, its lease has not expired. The comparison
// is made at the stored precision (seconds for the TTL, milliseconds for the
// lease), exactly as the DynamoDB claim condition makes it.
func (r Record) Live(now time.Time) bool {
	if r.ExpiresAt.Unix() < now.Unix() {
		return false
	}
	if r.Status == StatusInProgress && r.LeaseUntil.UnixMilli() < now.UnixMilli() {
		return false
	}
	return true
}
