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
// DynamoDB would refuse, or refused: an empty Write, a Put without its key
// attributes, two writes to one item, more writes than a transaction holds,
// an item over MaxItemSize, an effect over MaxTxSize, or a write that
// DynamoDB cancelled with a ValidationError (an ADD to a string, an update
// that makes its item too large). It is the effect's own fault, never the
// store's: retrying cannot fix it.
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

// size estimates the bytes w adds to a transaction: its item (Put), or its
// key, expressions and values, by DynamoDB's rules of item size (see
// itemSize). It errs on the high side.
func (w Write) size() int {
	it := w.item
	switch {
	case w.add != nil:
		return len(w.add.table) + itemSize(w.add.key) + len(w.add.attr) + maxNumberSize
	case it.Put != nil:
		p := it.Put
		return len(aws.ToString(p.TableName)) + itemSize(p.Item) + exprSize(p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues)
	case it.Update != nil:
		u := it.Update
		return len(aws.ToString(u.TableName)) + itemSize(u.Key) + len(aws.ToString(u.UpdateExpression)) +
			exprSize(u.ConditionExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues)
	case it.Delete != nil:
		d := it.Delete
		return len(aws.ToString(d.TableName)) + itemSize(d.Key) + exprSize(d.ConditionExpression, d.ExpressionAttributeNames, d.ExpressionAttributeValues)
	case it.ConditionCheck != nil:
		c := it.ConditionCheck
		return len(aws.ToString(c.TableName)) + itemSize(c.Key) + exprSize(c.ConditionExpression, c.ExpressionAttributeNames, c.ExpressionAttributeValues)
	}
	return 0
}

// exprSize is the size of a condition and its names and values.
func exprSize(cond *string, names map[string]string, values map[string]types.AttributeValue) int {
	n := len(aws.ToString(cond)) + itemSize(values)
	for k, v := range names {
		n += len(k) + len(v)
	}
	return n
}

// maxNumberSize is the most bytes DynamoDB stores a number in (38
// significant digits).
const maxNumberSize = 21

// itemSize is the size of an item as DynamoDB counts it against
// MaxItemSize: the UTF-8 length of each attribute's name plus its value's
// size (attrSize).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + attrSize(v)
	}
	return n
}

// attrSize is the size of one value by DynamoDB's documented rules: a
// string's UTF-8 length, a binary's length, a number's 1 byte per two
// significant digits plus 1 (rounded up here), 1 byte for a boolean or
// null, 3 bytes for a list or map plus 1 byte and the size of each element
// (and, in a map, its name).
func attrSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberSS:
		return sumOf(v.Value, func(e string) int { return len(e) })
	case *types.AttributeValueMemberNS:
		return sumOf(v.Value, numberSize)
	case *types.AttributeValueMemberBS:
		return sumOf(v.Value, func(e []byte) int { return len(e) })
	case *types.AttributeValueMemberL:
		return 3 + sumOf(v.Value, func(e types.AttributeValue) int { return 1 + attrSize(e) })
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + attrSize(e)
		}
		return n
	}
	return 1 // BOOL, NULL
}

// sumOf sums the sizes of elements.
func sumOf[E any](elements []E, size func(E) int) int {
	n := 0
	for _, e := range elements {
		n += size(e)
	}
	return n
}

// numberSize is the size of a number given as digits: its significant
// digits (leading and trailing zeros trimmed) halved, plus 2.
func numberSize(digits string) int {
	mantissa, _, _ := strings.Cut(strings.ToLower(digits), "e")
	sig := strings.Trim(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, mantissa), "0")
	return min(len(sig)/2+2, maxNumberSize)
}
