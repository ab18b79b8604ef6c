package dynamostore

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// Attribute names, compatible with Powertools for AWS Lambda.
const (
	AttrKey        = "id"
	AttrExpiration = "expiration"             // epoch seconds; the table's TTL attribute
	AttrLease      = "in_progress_expiration" // epoch milliseconds
	AttrStatus     = "status"
	AttrResult     = "data"
	AttrPayload    = "validation"
	AttrToken      = "owner_token"
)

func num(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func str(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

// resultValue stores a result as a string when it is valid UTF-8 (JSON, as
// Powertools stores it) and as binary otherwise.
func resultValue(result []byte) types.AttributeValue {
	if utf8.Valid(result) {
		return str(string(result))
	}
	return &types.AttributeValueMemberB{Value: result}
}

func (l Layout) claimItem(in idempotency.ClaimInput) map[string]types.AttributeValue {
	item := l.keyOf(in.Key)
	item[l.StatusAttr] = str(string(idempotency.StatusInProgress))
	item[l.ExpirationAttr] = num(in.ExpiresAt.Unix())
	item[l.LeaseAttr] = num(in.LeaseUntil.UnixMilli())
	item[l.TokenAttr] = str(in.Token)
	if in.PayloadHash != "" {
		item[l.PayloadAttr] = str(in.PayloadHash)
	}
	return item
}

// decode reads an item written by this package (or by Powertools).
func (l Layout) decode(item map[string]types.AttributeValue) (idempotency.Record, error) {
	var rec idempotency.Record
	text := func(name string, set func(string)) error {
		v, ok := item[name]
		if !ok {
			return nil
		}
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return fmt.Errorf("attribute %s: want a string, got %T", name, v)
		}
		set(s.Value)
		return nil
	}
	number := func(name string, set func(int64)) error {
		v, ok := item[name]
		if !ok {
			return nil
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return fmt.Errorf("attribute %s: want a number, got %T", name, v)
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
		set(i)
		return nil
	}
	for _, err := range []error{
		text(l.storedKeyAttr(), func(s string) { rec.Key = s }),
		text(l.StatusAttr, func(s string) { rec.Status = idempotency.Status(s) }),
		text(l.PayloadAttr, func(s string) { rec.PayloadHash = s }),
		text(l.TokenAttr, func(s string) { rec.Token = s }),
		number(l.ExpirationAttr, func(i int64) { rec.ExpiresAt = time.Unix(i, 0) }),
		number(l.LeaseAttr, func(i int64) { rec.LeaseUntil = time.UnixMilli(i) }),
	} {
		if err != nil {
			return rec, err
		}
	}
	switch r := item[l.ResultAttr].(type) {
	case nil:
	case *types.AttributeValueMemberS:
		rec.Result = []byte(r.Value)
	case *types.AttributeValueMemberB:
		rec.Result = r.Value
	default:
		return rec, fmt.Errorf("attribute %s: want a string or binary, got %T", l.ResultAttr, r)
	}
	return rec, nil
}
