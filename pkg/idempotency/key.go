package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// StoredKey is the key under which a business key is stored: the prefix, a
// '#', and the hex SHA-256 of the key. Raw business keys never reach the
// store.
func StoredKey(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + "#" + hex.EncodeToString(sum[:])
}

// PayloadHash is the hex SHA-256 of a payload, stored to detect a key reused
// with a different payload.
func PayloadHash(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

const (
	// TTLDefault is how long a completed key is remembered: 14 days
	// (336h), the longest an SQS queue keeps a message (MessageRetentionPeriod
	// at most 1,209,600 s), so a message kept that long in a DLQ and redriven
	// still finds its record and is replayed, not run again. (A DLQ counts
	// a message's retention from its first send to the source queue.)
	TTLDefault = 14 * 24 * time.Hour
)
