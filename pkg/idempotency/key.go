package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
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
