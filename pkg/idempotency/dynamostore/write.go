package dynamostore

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Write is one write of an effect that CommitBatch commits with its key's
// idempotency record. Make one with Put, Update, Delete, Check or Add.
type Write struct {
	item     types.TransactWriteItem // Put, Update, Delete or ConditionCheck
	keyAttrs []string                // Put: the names of the table's key attributes
	add      *addition
}

// addition is a commutative counter update: ADD n to attr of one item.
type addition struct {
	table string
	key   map[string]types.AttributeValue
	attr  string
	n     int64
}

// Put is a put of p.Item, with p's condition if any. keyAttrs names the
// table's key attributes (the partition key, then the sort key if any), so
// CommitBatch can tell which puts write the same item.
func Put(p *types.Put, keyAttrs ...string) Write {
	return Write{item: types.TransactWriteItem{Put: p}, keyAttrs: keyAttrs}
}

// Update is an update of one item, with u's condition if any.
func Update(u *types.Update) Write { return Write{item: types.TransactWriteItem{Update: u}} }

// Delete is a delete of one item, with d's condition if any.
func Delete(d *types.Delete) Write { return Write{item: types.TransactWriteItem{Delete: d}} }

// Check is a condition on one item that writes nothing.
func Check(c *types.ConditionCheck) Write {
	return Write{item: types.TransactWriteItem{ConditionCheck: c}}
}

// Add adds n to the number attr of the item with key in table (ADD, which
// creates the attribute at 0). Adds commute, so CommitBatch merges the
// Adds of many effects to one item into one update of their exact sum,
// where any other write to an item takes a transaction to itself.
func Add(table string, key map[string]types.AttributeValue, attr string, n int64) Write {
	return Write{add: &addition{table: table, key: key, attr: attr, n: n}}
}

// ErrInvalidWrite is matched by the error of an effect whose writes
// DynamoDB would refuse (an empty Write, a Put without its key attributes,
// two writes to one item).
var ErrInvalidWrite = errors.New("dynamostore: invalid write")

// target returns the table and key of the item w writes.
func (w Write) target() (table string, key map[string]types.AttributeValue, err error) {
	switch it := w.item; {
	case w.add != nil:
		return w.add.table, w.add.key, nil
	case it.Put != nil:
		if len(w.keyAttrs) == 0 {
			return "", nil, fmt.Errorf("%w: Put without its key attribute names", ErrInvalidWrite)
		}
		key = make(map[string]types.AttributeValue, len(w.keyAttrs))
		for _, a := range w.keyAttrs {
			v, ok := it.Put.Item[a]
			if !ok {
				return "", nil, fmt.Errorf("%w: Put item lacks key attribute %q", ErrInvalidWrite, a)
			}
			key[a] = v
		}
		return aws.ToString(it.Put.TableName), key, nil
	case it.Update != nil:
		return aws.ToString(it.Update.TableName), it.Update.Key, nil
	case it.Delete != nil:
		return aws.ToString(it.Delete.TableName), it.Delete.Key, nil
	case it.ConditionCheck != nil:
		return aws.ToString(it.ConditionCheck.TableName), it.ConditionCheck.Key, nil
	}
	return "", nil, fmt.Errorf("%w: an empty Write", ErrInvalidWrite)
}

// itemID names an item: its table and its key's attributes, in order.
func itemID(table string, key map[string]types.AttributeValue) string {
	var b strings.Builder
	b.WriteString(table)
	for _, name := range slices.Sorted(maps.Keys(key)) {
		b.WriteString("\x00")
		b.WriteString(name)
		b.WriteString("\x00")
		switch v := key[name].(type) {
		case *types.AttributeValueMemberS:
			b.WriteString("S" + v.Value)
		case *types.AttributeValueMemberN:
			b.WriteString("N" + v.Value)
		case *types.AttributeValueMemberB:
			b.WriteString("B" + string(v.Value))
		default:
			fmt.Fprintf(&b, "%T%v", v, v)
		}
	}
	return b.String()
}

// withAllOld returns w's transaction item asking for the existing item when
// its condition fails, so the caller can judge the conflict.
func (w Write) withAllOld() types.TransactWriteItem {
	it := w.item
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	switch {
	case it.Put != nil && it.Put.ConditionExpression != nil:
		p := *it.Put
		p.ReturnValuesOnConditionCheckFailure = allOld
		it.Put = &p
	case it.Update != nil && it.Update.ConditionExpression != nil:
		u := *it.Update
		u.ReturnValuesOnConditionCheckFailure = allOld
		it.Update = &u
	case it.Delete != nil && it.Delete.ConditionExpression != nil:
		d := *it.Delete
		d.ReturnValuesOnConditionCheckFailure = allOld
		it.Delete = &d
	case it.ConditionCheck != nil:
		c := *it.ConditionCheck
		c.ReturnValuesOnConditionCheckFailure = allOld
		it.ConditionCheck = &c
	}
	return it
}
