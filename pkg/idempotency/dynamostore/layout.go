package dynamostore

import (
	"fmt"
	"hash/fnv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Layout says where the records live in a table. The zero value is the
// default: a table of its own, partition key "id" holding the stored key,
// with Powertools for AWS Lambda's attribute names.
//
// Set SortKeyAttr to keep the records in an existing table (a single-table
// design): the sort key then holds the stored key, and the partition key a
// shard value, PartitionValue#n with n derived from the key's hash, so that
// records spread over Shards partitions instead of one (a single partition
// value caps every record's writes at one partition's throughput, about
// 1,000 writes a second).
type Layout struct {
	// KeyAttr is the partition key attribute. Default AttrKey ("id").
	KeyAttr string
	// SortKeyAttr is the sort key attribute of a composite key; empty for a
	// table keyed by KeyAttr alone.
	SortKeyAttr string
	// PartitionValue is the fixed part of the partition key of a composite
	// layout. Default PartitionValueDefault ("idempotency").
	PartitionValue string
	// Shards is how many partition values a composite layout spreads the
	// records over (PartitionValue#0 .. #Shards-1). Default ShardsDefault
	// (16); 1 puts every record under PartitionValue#0.
	Shards int
	// Attribute names. Defaults: AttrExpiration, AttrLease, AttrStatus,
	// AttrResult, AttrPayload, AttrToken. The table's TTL must be enabled on
	// ExpirationAttr (epoch seconds).
	ExpirationAttr, LeaseAttr, StatusAttr, ResultAttr, PayloadAttr, TokenAttr string
}

// Defaults of Layout.
const (
	PartitionValueDefault = "idempotency"
	ShardsDefault         = 16
)

// WithDefaults returns a copy of l with defaults applied to zero fields.
func (l Layout) WithDefaults() Layout {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&l.KeyAttr, AttrKey)
	def(&l.ExpirationAttr, AttrExpiration)
	def(&l.LeaseAttr, AttrLease)
	def(&l.StatusAttr, AttrStatus)
	def(&l.ResultAttr, AttrResult)
	def(&l.PayloadAttr, AttrPayload)
	def(&l.TokenAttr, AttrToken)
	if l.SortKeyAttr != "" {
		def(&l.PartitionValue, PartitionValueDefault)
		if l.Shards == 0 {
			l.Shards = ShardsDefault
		}
	}
	return l
}

func (l Layout) validate() error {
	names := map[string]bool{}
	for _, n := range []string{l.KeyAttr, l.SortKeyAttr, l.ExpirationAttr, l.LeaseAttr, l.StatusAttr, l.ResultAttr, l.PayloadAttr, l.TokenAttr} {
		if n != "" && names[n] {
			return &ConfigError{"Layout", fmt.Sprintf("attribute name %q is used twice", n)}
		}
		names[n] = true
	}
	if l.SortKeyAttr != "" && l.Shards < 1 {
		return &ConfigError{"Layout.Shards", fmt.Sprintf("%d: must be at least 1", l.Shards)}
	}
	return nil
}

// keyOf is the primary key of a stored key's record.
func (l Layout) keyOf(key string) map[string]types.AttributeValue {
	if l.SortKeyAttr == "" {
		return map[string]types.AttributeValue{l.KeyAttr: str(key)}
	}
	return map[string]types.AttributeValue{l.KeyAttr: str(l.partitionOf(key)), l.SortKeyAttr: str(key)}
}

// partitionOf is the partition value of a stored key in a composite layout.
func (l Layout) partitionOf(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("%s#%d", l.PartitionValue, h.Sum32()%uint32(l.Shards))
}

// storedKeyAttr is the attribute that holds the stored key.
func (l Layout) storedKeyAttr() string {
	if l.SortKeyAttr != "" {
		return l.SortKeyAttr
	}
	return l.KeyAttr
}
