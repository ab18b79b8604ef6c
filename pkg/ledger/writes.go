package ledger

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Ledger table layout: partition key "account", sort key "entry".
const (
	AttrAccount = "account"
	AttrEntry   = "entry"
	AttrBalance = "balance" // on the balance item: the sum of applied amounts
	AttrEntries = "entries" // on the balance item: the number of applied entries
)

// balanceEntry is the sort key of an account's balance item.
const balanceEntry = "#balance"

// BalanceEntry is the sort key of an account's balance item.
func BalanceEntry() string { return balanceEntry }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Writes returns the two writes that apply e to table: the entry item, put
// only if absent, and the increment of the account's balance. They must
// commit together (one TransactWriteItems).
func Writes(table string, e Event) []types.TransactWriteItem {
	return []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				AttrAccount:   s(e.Account),
				AttrEntry:     s(e.ID),
				"amount":      n(e.Amount),
				"currency":    s(e.Currency),
				"occurred_at": s(e.OccurredAt.UTC().Format(time.RFC3339Nano)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#entry)"),
			ExpressionAttributeNames: map[string]string{"#entry": AttrEntry},
		}},
		{Update: &types.Update{
			TableName:                 aws.String(table),
			Key:                       map[string]types.AttributeValue{AttrAccount: s(e.Account), AttrEntry: s(balanceEntry)},
			UpdateExpression:          aws.String("ADD #balance :amount, #entries :one"),
			ExpressionAttributeNames:  map[string]string{"#balance": AttrBalance, "#entries": AttrEntries},
			ExpressionAttributeValues: map[string]types.AttributeValue{":amount": n(e.Amount), ":one": n(1)},
		}},
	}
}

// Result is what the consumer stores as the idempotency result of an applied
// event, and replays to duplicates: the amount applied, and nothing that
// identifies the account or the event (the idempotency table holds hashes and
// amounts only; the ledger is where business data lives).
func Result(e Event) []byte {
	return []byte(`{"applied":` + strconv.FormatInt(e.Amount, 10) + `}`)
}
