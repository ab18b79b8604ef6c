package outbox

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

// Status of an outbox item.
const (
	StatusPending = "pending" // committed, not yet sent
	StatusSent    = "sent"    // sent; the TTL removes it after Table.SentRetention
	StatusFailed  = "failed"  // refused by its destination for good; sqsonce outbox resends it
)

// The attributes of an outbox item, beside the table's key and TTL.
const (
	attrID         = "event_id"
	attrStatus     = "outbox_status"
	attrKind       = "dest_kind"
	attrTarget     = "dest"
	attrGroup      = "group_id"
	attrDedup      = "dedup_id"
	attrSource     = "source"
	attrDetailType = "detail_type"
	attrResources  = "resources"
	attrBody       = "body"
	attrAttributes = "attributes"
	attrKey        = "source_key"
	attrPosition   = "position"
	attrCreated    = "created_ms"
	attrSent       = "sent_ms"
	attrError      = "error"
	attrFailed     = "failed_ms"
)

var itemAttrs = map[string]bool{
	attrID: true, attrStatus: true, attrKind: true, attrTarget: true, attrGroup: true, attrDedup: true,
	attrSource: true, attrDetailType: true, attrResources: true, attrBody: true, attrAttributes: true,
	attrKey: true, attrPosition: true, attrCreated: true, attrSent: true, attrError: true, attrFailed: true,
}

// Item is an outbox item as stored.
type Item struct {
	ID        string // the event's stable ID (EventID)
	Partition string // its outbox partition: its group's, or its own
	Status    string // StatusPending, StatusSent or StatusFailed
	Event     Event
	SourceKey string // the stored idempotency key of the effect that published it
	Position  int    // its position among that effect's events
	Created   time.Time
	Sent      time.Time // when sent (StatusSent)
	Failed    time.Time // when refused (StatusFailed)
	Error     string    // why it was refused (StatusFailed)
}

// itemOverhead bounds the bytes of an item beside its body, attributes and
// destination: names of attributes, IDs, hashes, numbers.
const itemOverhead = 512

// Writes returns the outbox items of the events an effect of key (under
// keyPrefix) publishes, as puts for the effect's transaction, each only if
// its item does not exist yet. An event that can never be published is an
// *EventError: ErrInvalidEvent, or dynamostore.ErrInvalidWrite for an item
// over dynamostore.MaxItemSize.
func (t Table) Writes(keyPrefix, key string, evs []Event, now time.Time) ([]dynamostore.Write, error) {
	t = t.WithDefaults()
	out := make([]dynamostore.Write, 0, len(evs))
	for i, e := range evs {
		if err := e.validate(); err != nil {
			return nil, &EventError{Index: i, Err: err}
		}
		item := t.item(keyPrefix, key, i, e, now)
		if n := approxSize(item); n > dynamostore.MaxItemSize {
			return nil, &EventError{Index: i, Err: fmt.Errorf("%w: its outbox item is about %d bytes, over DynamoDB's %d", dynamostore.ErrInvalidWrite, n, dynamostore.MaxItemSize)}
		}
		out = append(out, dynamostore.Put(&types.Put{
			TableName:                aws.String(t.Name),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": t.PartitionKey},
		}, t.PartitionKey, t.SortKey))
	}
	return out, nil
}

// item is the pending outbox item of event e at position i of key's effect.
func (t Table) item(keyPrefix, key string, i int, e Event, now time.Time) map[string]types.AttributeValue {
	id := EventID(keyPrefix, key, i)
	item := map[string]types.AttributeValue{
		t.PartitionKey: str(partition(e.To, id)),
		t.SortKey:      str(id),
		attrID:         str(id),
		attrStatus:     str(StatusPending),
		attrKind:       str(e.To.kind()),
		attrTarget:     str(e.To.target()),
		attrBody:       str(e.Body),
		attrKey:        str(idempotency.StoredKey(keyPrefix, key)),
		attrPosition:   num(int64(i)),
		attrCreated:    num(now.UnixMilli()),
	}
	set := func(name, v string) {
		if v != "" {
			item[name] = str(v)
		}
	}
	switch d := e.To.(type) {
	case SQS:
		set(attrGroup, d.GroupID)
		set(attrDedup, d.DeduplicationID)
	case SNS:
		set(attrGroup, d.GroupID)
		set(attrDedup, d.DeduplicationID)
	case EventBridge:
		set(attrSource, d.Source)
		set(attrDetailType, d.DetailType)
		if len(d.Resources) > 0 {
			l := make([]types.AttributeValue, len(d.Resources))
			for k, r := range d.Resources {
				l[k] = str(r)
			}
			item[attrResources] = &types.AttributeValueMemberL{Value: l}
		}
	}
	if len(e.Attributes) > 0 {
		m := make(map[string]types.AttributeValue, len(e.Attributes))
		for k, v := range e.Attributes {
			m[k] = str(v)
		}
		item[attrAttributes] = &types.AttributeValueMemberM{Value: m}
	}
	return item
}

// approxSize bounds an item's size as DynamoDB counts it.
func approxSize(item map[string]types.AttributeValue) int {
	n := itemOverhead
	for _, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberL:
			for _, e := range v.Value {
				n += 1 + len(e.(*types.AttributeValueMemberS).Value)
			}
		case *types.AttributeValueMemberM:
			for k, e := range v.Value {
				n += 1 + len(k) + len(e.(*types.AttributeValueMemberS).Value)
			}
		}
	}
	return n
}

// ParseItem reads an outbox item of t; ok is false for an item that is not
// one (an idempotency record of a shared table).
func (t Table) ParseItem(item map[string]types.AttributeValue) (it Item, ok bool, err error) {
	t = t.WithDefaults()
	if _, is := item[attrID]; !is {
		return Item{}, false, nil
	}
	s := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	n := func(name string) int64 {
		if v, ok := item[name].(*types.AttributeValueMemberN); ok {
			x, _ := strconv.ParseInt(v.Value, 10, 64)
			return x
		}
		return 0
	}
	ms := func(name string) time.Time {
		if x := n(name); x != 0 {
			return time.UnixMilli(x)
		}
		return time.Time{}
	}
	it = Item{
		ID: s(attrID), Partition: s(t.PartitionKey), Status: s(attrStatus), SourceKey: s(attrKey),
		Position: int(n(attrPosition)), Created: ms(attrCreated), Sent: ms(attrSent), Failed: ms(attrFailed), Error: s(attrError),
		Event: Event{Body: s(attrBody)},
	}
	if m, ok := item[attrAttributes].(*types.AttributeValueMemberM); ok {
		it.Event.Attributes = make(map[string]string, len(m.Value))
		for k, v := range m.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				it.Event.Attributes[k] = sv.Value
			}
		}
	}
	switch kind := s(attrKind); kind {
	case KindSQS:
		it.Event.To = SQS{QueueURL: s(attrTarget), GroupID: s(attrGroup), DeduplicationID: s(attrDedup)}
	case KindSNS:
		it.Event.To = SNS{TopicARN: s(attrTarget), GroupID: s(attrGroup), DeduplicationID: s(attrDedup)}
	case KindEventBridge:
		d := EventBridge{EventBusName: s(attrTarget), Source: s(attrSource), DetailType: s(attrDetailType)}
		if l, ok := item[attrResources].(*types.AttributeValueMemberL); ok {
			for _, v := range l.Value {
				if sv, ok := v.(*types.AttributeValueMemberS); ok {
					d.Resources = append(d.Resources, sv.Value)
				}
			}
		}
		it.Event.To = d
	default:
		return it, true, fmt.Errorf("outbox item %s: unknown destination kind %q", it.ID, kind)
	}
	if it.ID == "" || it.Partition == "" || it.Status == "" {
		return it, true, fmt.Errorf("outbox item %q: no ID, partition or status", it.ID)
	}
	return it, true, nil
}

// key is the item's key in t.
func (t Table) key(it Item) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{t.PartitionKey: str(it.Partition), t.SortKey: str(it.ID)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
