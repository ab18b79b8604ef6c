package outbox

import (
	"fmt"
	"time"
)

// Defaults of Table.
const (
	// PartitionKeyDefault and SortKeyDefault are the outbox table's key
	// attributes.
	PartitionKeyDefault = "pk"
	SortKeyDefault      = "sk"
	// TTLAttributeDefault is the attribute of the table's TTL.
	TTLAttributeDefault = "expiration"
	// SentRetentionDefault is how long a sent item stays before the TTL
	// removes it.
	SentRetentionDefault = 24 * time.Hour
)

// Table is where the outbox items live: a table of their own, or the
// idempotency table when it has a composite key (a shared, single-table
// layout: dynamostore.Layout with a sort key). Either way the table needs a
// stream (NEW_IMAGE, or NEW_AND_OLD_IMAGES) for the relay, and a TTL on
// TTLAttribute to remove sent items.
type Table struct {
	// Name is the table's name. Required.
	Name string
	// PartitionKey and SortKey are its key attributes (strings). Default
	// PartitionKeyDefault and SortKeyDefault.
	PartitionKey string
	SortKey      string
	// TTLAttribute is the attribute of the table's TTL, set on sent items.
	// Default TTLAttributeDefault.
	TTLAttribute string
	// SentRetention is how long a sent item stays (for sqsonce outbox)
	// before the TTL removes it. Default SentRetentionDefault; negative:
	// the relay deletes an item once sent.
	SentRetention time.Duration
}

// WithDefaults returns a copy of t with defaults applied to zero fields.
func (t Table) WithDefaults() Table {
	if t.PartitionKey == "" {
		t.PartitionKey = PartitionKeyDefault
	}
	if t.SortKey == "" {
		t.SortKey = SortKeyDefault
	}
	if t.TTLAttribute == "" {
		t.TTLAttribute = TTLAttributeDefault
	}
	if t.SentRetention == 0 {
		t.SentRetention = SentRetentionDefault
	}
	return t
}

// Validate checks a Table with its defaults applied.
func (t Table) Validate() error {
	t = t.WithDefaults()
	switch {
	case t.Name == "":
		return &ConfigError{"Table.Name", "empty: give the outbox table's name"}
	case t.PartitionKey == t.SortKey:
		return &ConfigError{"Table.SortKey", fmt.Sprintf("%q is also the partition key", t.SortKey)}
	}
	for _, a := range []string{t.PartitionKey, t.SortKey, t.TTLAttribute} {
		if itemAttrs[a] {
			return &ConfigError{"Table", fmt.Sprintf("the attribute %q is one of the outbox item's own", a)}
		}
	}
	return nil
}
