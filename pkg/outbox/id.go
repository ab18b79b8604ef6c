package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// EventID is the stable ID of the event at position (0, 1, ...) among
// those the effect of key publishes, under the idempotency key prefix
// keyPrefix: 32 hex digits of a SHA-256, the same at every delivery of the
// key, and different for another key, position or prefix.
func EventID(keyPrefix, key string, position int) string {
	sum := sha256.Sum256([]byte(idempotency.StoredKey(keyPrefix, key) + "#" + strconv.Itoa(position)))
	return hex.EncodeToString(sum[:16])
}

// partition is the outbox partition of an event: one per group of an
// ordered destination (so a group's items come in commit order on the
// stream), else one per event.
func partition(to Destination, id string) string {
	if g := to.group(); g != "" {
		sum := sha256.Sum256([]byte(to.kind() + "\x00" + to.target() + "\x00" + g))
		return partitionPrefix + "g#" + hex.EncodeToString(sum[:16])
	}
	return partitionPrefix + "e#" + id
}

// partitionPrefix begins every outbox partition value, so outbox items
// stand apart from the records of a shared table.
const partitionPrefix = "outbox#"
