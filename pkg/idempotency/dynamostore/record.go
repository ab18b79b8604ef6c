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

func keyOf(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrKey: str(key)}
}

// resultValue stores a result as a string when it is valid UTF-8 (JSON, as
// Powertools stores it) and as binary otherwise.
func resultValue(result []byte) types.AttributeValue {
	if utf8.Valid(result) {
		return str(string(result))
	}
	return &types.AttributeValueMemberB{Value: result}
}

func claimItem(in idempotency.ClaimInput) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		AttrKey:        str(in.Key),
		AttrStatus:     str(string(idempotency.StatusInProgress)),
		AttrExpiration: num(in.ExpiresAt.Unix()),
		AttrLease:      num(in.LeaseUntil.UnixMilli()),
		AttrToken:      str(in.Token),
	}
	if in.PayloadHash != "" {
		item[AttrPayload] = str(in.PayloadHash)
	}
	return item
}

// decodeRecord reads an item written by this package (or by Powertools).
func decodeRecord(item map[string]types.AttributeValue) (idempotency.Record, error) {
	var rec idempotency.Record
	for name, v := range item {
		switch name {
		case AttrKey, AttrStatus, AttrPayload, AttrToken:
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return rec, fmt.Errorf("attribute %s: want a string, got %T", name, v)
			}
			switch name {
			case AttrKey:
				rec.Key = s.Value
			case AttrStatus:
				rec.Status = idempotency.Status(s.Value)
			case AttrPayload:
				rec.PayloadHash = s.Value
			case AttrToken:
				rec.Token = s.Value
			}
		case AttrExpiration, AttrLease:
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return rec, fmt.Errorf("attribute %s: want a number, got %T", name, v)
			}
			i, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return rec, fmt.Errorf("attribute %s: %w", name, err)
			}
			if name == AttrExpiration {
				rec.ExpiresAt = time.Unix(i, 0)
			} else {
				rec.LeaseUntil = time.UnixMilli(i)
			}
		case AttrResult:
			switch r := v.(type) {
			case *types.AttributeValueMemberS:
				rec.Result = []byte(r.Value)
			case *types.AttributeValueMemberB:
				rec.Result = r.Value
			default:
				return rec, fmt.Errorf("attribute %s: want a string or binary, got %T", name, v)
			}
		}
	}
	return rec, nil
}
