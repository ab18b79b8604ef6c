package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// The layout item. A composite layout derives a record's partition value
// from settings (PartitionValue, Shards, the shard hash), so a changed
// setting, or two versions running side by side during a deployment, would
// look for existing records under other partition values, miss them, and let
// their duplicates run again. So the table describes its layout in one item
// of its own, under a reserved key that no setting changes: LayoutItemKey in
// both the partition key and the sort key. The first store to use the table
// writes it (a conditional put: attribute_not_exists), every later store
// reads it back from the failed condition (ALL_OLD) and refuses to work
// when its own layout differs, with a *LayoutMismatchError.
//
// A table of its own (no SortKeyAttr) has no layout item: its key is the
// stored key itself, derived from no setting, and a changed attribute name
// cannot hide a record (the claim's condition still sees the item and the
// claim fails loudly); nothing is written to it but records.
const (
	// LayoutItemKey is the reserved partition and sort key value of the
	// layout item. No record can have it: stored keys end in a hex hash.
	LayoutItemKey = "sqsonce#layout"
	// AttrLayout is the layout item's attribute that holds the layout, a
	// map of the fields below (LayoutMismatchError names them).
	AttrLayout = "sqsonce_layout"
)

// shardHash names the function of partitionOf, so that a version that
// changes it is told apart.
const shardHash = "fnv32a-mod"

// describe is what a composite layout's records depend on, by field name.
func (l Layout) describe() [][2]string {
	return [][2]string{
		{"PartitionValue", l.PartitionValue},
		{"Shards", strconv.Itoa(l.Shards)},
		{"ShardHash", shardHash},
		{"ExpirationAttr", l.ExpirationAttr},
		{"LeaseAttr", l.LeaseAttr},
		{"StatusAttr", l.StatusAttr},
		{"ResultAttr", l.ResultAttr},
		{"PayloadAttr", l.PayloadAttr},
		{"TokenAttr", l.TokenAttr},
	}
}

// layoutItem is the layout item of a composite layout.
func (l Layout) layoutItem() map[string]types.AttributeValue {
	fields := map[string]types.AttributeValue{}
	for _, f := range l.describe() {
		fields[f[0]] = str(f[1])
	}
	return map[string]types.AttributeValue{
		l.KeyAttr: str(LayoutItemKey), l.SortKeyAttr: str(LayoutItemKey),
		AttrLayout: &types.AttributeValueMemberM{Value: fields},
	}
}

// LayoutDiff is one field in which a store's Layout differs from the
// layout its table describes.
type LayoutDiff struct {
	Field       string // a Layout field, or ShardHash (the version's shard function)
	Table, This string // the table's value and this store's
}

// ErrLayoutMismatch is matched (errors.Is) by every *LayoutMismatchError.
var ErrLayoutMismatch = errors.New("dynamostore: the store's layout differs from its table's")

// LayoutMismatchError refuses a store whose composite Layout differs from
// the one its table's layout item describes: it would not find the records
// written under the table's layout, and their duplicates would run again.
type LayoutMismatchError struct {
	Table string
	Diffs []LayoutDiff
}

func (e *LayoutMismatchError) Error() string {
	var diffs []string
	for _, d := range e.Diffs {
		diffs = append(diffs, fmt.Sprintf("%s is %q in the table, %q here", d.Field, d.Table, d.This))
	}
	return fmt.Sprintf("dynamostore: table %s keeps its idempotency records in another layout (%s): "+
		"this store would not find them and their duplicates would run again. Set the layout back to the table's "+
		"(the consumer's IDEMPOTENCY_SHARDS, IDEMPOTENCY_PARTITION_KEY, IDEMPOTENCY_SORT_KEY, IDEMPOTENCY_TTL_ATTRIBUTE; "+
		"the template's IdempotencyShards), or give the new layout a new table; records are never moved. "+
		"Once no record of the old layout is live (one TTL after its last write), its layout item (key %q in both key attributes) may be deleted",
		e.Table, strings.Join(diffs, "; "), LayoutItemKey)
}

// Is makes errors.Is(err, ErrLayoutMismatch) true.
func (e *LayoutMismatchError) Is(target error) bool { return target == ErrLayoutMismatch }

// layoutCheck checks a composite layout against its table's layout item,
// once per Store: before the store's first request, on that request's
// context. A request that writes writes the item when the table has none;
// a read (GetItem) only compares, so a reader (sqsonce inspect) never pins
// a layout. A mismatch is kept and returned to every later request; a
// failed check (the table unreachable) is tried again by the next one.
type layoutCheck struct {
	api   API // the client itself, not checked
	table string
	l     Layout

	sem     chan struct{} // one check at a time
	mu      sync.Mutex    // guards checked and err
	checked bool
	err     error // a *LayoutMismatchError, once found
}

// result is the check's outcome once it is known.
func (c *layoutCheck) result() (done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked, c.err
}

func newLayoutCheck(api API, table string, l Layout) *layoutCheck {
	return &layoutCheck{api: api, table: table, l: l, sem: make(chan struct{}, 1)}
}

// ensure checks the layout unless done; write says whether the request
// about to be sent writes (and may write the layout item first).
func (c *layoutCheck) ensure(ctx context.Context, write bool) error {
	if done, err := c.result(); done {
		return err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("check the layout of %s: %w", c.table, ctx.Err())
	}
	defer func() { <-c.sem }()
	if done, err := c.result(); done {
		return err
	}
	existing, err := c.read(ctx, write)
	if err != nil {
		return fmt.Errorf("check the layout of %s: %w", c.table, err)
	}
	if existing == nil { // a read of a table without its item: compare later
		return nil
	}
	err = c.compare(existing)
	c.mu.Lock()
	c.checked, c.err = true, err
	c.mu.Unlock()
	return err
}

// read returns the table's layout item: when write, after putting this
// layout's when there was none (then it returns that).
func (c *layoutCheck) read(ctx context.Context, write bool) (map[string]types.AttributeValue, error) {
	item := c.l.layoutItem()
	if write {
		_, err := c.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           aws.String(c.table),
			Item:                                item,
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            map[string]string{"#pk": c.l.KeyAttr},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return item, nil
		case !errors.As(err, &ccf):
			return nil, err
		case ccf.Item != nil:
			return ccf.Item, nil
		}
	}
	out, err := c.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{c.l.KeyAttr: str(LayoutItemKey), c.l.SortKeyAttr: str(LayoutItemKey)},
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// compare returns a *LayoutMismatchError naming every field in which item
// differs from this layout.
func (c *layoutCheck) compare(item map[string]types.AttributeValue) error {
	m, _ := item[AttrLayout].(*types.AttributeValueMemberM)
	var diffs []LayoutDiff
	for _, f := range c.l.describe() {
		var have string
		if m != nil {
			if v, ok := m.Value[f[0]].(*types.AttributeValueMemberS); ok {
				have = v.Value
			}
		}
		if have != f[1] {
			diffs = append(diffs, LayoutDiff{Field: f[0], Table: have, This: f[1]})
		}
	}
	if len(diffs) > 0 {
		return &LayoutMismatchError{Table: c.table, Diffs: diffs}
	}
	return nil
}

// checkedAPI is the store's client in a composite layout: every request
// waits for the layout check first.
type checkedAPI struct {
	API
	check *layoutCheck
}

func (a checkedAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := a.check.ensure(ctx, true); err != nil {
		return nil, err
	}
	return a.API.PutItem(ctx, in, optFns...)
}

func (a checkedAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := a.check.ensure(ctx, true); err != nil {
		return nil, err
	}
	return a.API.UpdateItem(ctx, in, optFns...)
}

func (a checkedAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := a.check.ensure(ctx, true); err != nil {
		return nil, err
	}
	return a.API.DeleteItem(ctx, in, optFns...)
}

func (a checkedAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := a.check.ensure(ctx, true); err != nil {
		return nil, err
	}
	return a.API.TransactWriteItems(ctx, in, optFns...)
}

func (a checkedAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := a.check.ensure(ctx, false); err != nil {
		return nil, err
	}
	return a.API.GetItem(ctx, in, optFns...)
}
