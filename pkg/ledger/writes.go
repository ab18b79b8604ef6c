package ledger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Ledger table layout: partition key "account", sort key "entry".
const (
	AttrAccount = "account"
	AttrEntry   = "entry"
	AttrBalance = "balance" // on the balance item: the sum of applied amounts
	AttrEntries = "entries" // on the balance item: the number of applied entries
	AttrAmount  = "amount"  // on an entry item: the event's amount

	// BalanceEntry is the sort key of an account's balance item.
	BalanceEntry = "#balance"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Apply is the effect of e on table, for sqsonce.NewDynamoDB: the entry
// item, put only if absent, and the amount and one entry added to the
// account's balance item (counters, merged across a batch's events).
// When the entry exists already, its fields decide: the same amount,
// currency and time mean the event was applied (sqsonce.ErrAlreadyApplied),
// anything else is a payload mismatch (permanent: the event id was reused
// for another movement).
func Apply(table string, e Event) sqsonce.Effect[Receipt] {
	balance := map[string]types.AttributeValue{AttrAccount: s(e.Account), AttrEntry: s(BalanceEntry)}
	return sqsonce.Effect[Receipt]{
		Writes: []dynamostore.Write{
			dynamostore.Put(&types.Put{
				TableName:                aws.String(table),
				Item:                     entryItem(e),
				ConditionExpression:      aws.String("attribute_not_exists(#entry)"),
				ExpressionAttributeNames: map[string]string{"#entry": AttrEntry},
			}, AttrAccount, AttrEntry),
			dynamostore.Add(table, balance, AttrBalance, e.Amount),
			dynamostore.Add(table, balance, AttrEntries, 1),
		},
		Result: Result(e),
		ConditionFailed: func(_ int, existing map[string]types.AttributeValue) error {
			if maps.EqualFunc(existing, entryItem(e), sameValue) {
				return sqsonce.ErrAlreadyApplied
			}
			return sqsonce.Permanent(fmt.Errorf("%w: ledger entry %s of the account exists with another amount, currency or time", idempotency.ErrPayloadMismatch, e.ID))
		},
	}
}

// entryItem is the entry item of e.
func entryItem(e Event) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrAccount:   s(e.Account),
		AttrEntry:     s(e.ID),
		AttrAmount:    n(e.Amount),
		"currency":    s(e.Currency),
		"occurred_at": s(e.OccurredAt.UTC().Format(time.RFC3339Nano)),
	}
}

// sameValue compares the string and number attributes of entry items.
func sameValue(a, b types.AttributeValue) bool {
	switch a := a.(type) {
	case *types.AttributeValueMemberS:
		bs, ok := b.(*types.AttributeValueMemberS)
		return ok && a.Value == bs.Value
	case *types.AttributeValueMemberN:
		bn, ok := b.(*types.AttributeValueMemberN)
		return ok && a.Value == bn.Value
	}
	return false
}

// Receipt is what the consumer stores as the idempotency result of an
// applied event, and replays to duplicates: the amount applied, and nothing
// that identifies the account or the event (the idempotency table holds
// hashes and amounts only; the ledger is where business data lives). Stored
// as JSON: {"applied":<amount>}.
type Receipt struct {
	Applied int64 `json:"applied"`
}

// Result is the Receipt of e.
func Result(e Event) Receipt { return Receipt{Applied: e.Amount} }

// TransactWriter is the DynamoDB call ApplyOnce makes.
type TransactWriter interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// ApplyOnce applies e to table with one TransactWriteItems (the entry, put
// only if absent, and the balance update), as the effect of sqsonce.New: for
// an idempotency store that cannot commit with the ledger (Valkey/Redis). An
// existing entry is judged as Apply judges it: the same event was applied
// already (its result is returned), another one is a permanent payload
// mismatch. So even when a worker dies between this write and its
// completion, the redelivery applies nothing twice.
func ApplyOnce(ctx context.Context, db TransactWriter, table string, e Event) (Receipt, error) {
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(table),
			Item:                                entryItem(e),
			ConditionExpression:                 aws.String("attribute_not_exists(#entry)"),
			ExpressionAttributeNames:            map[string]string{"#entry": AttrEntry},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Update: &types.Update{
			TableName:                 aws.String(table),
			Key:                       map[string]types.AttributeValue{AttrAccount: s(e.Account), AttrEntry: s(BalanceEntry)},
			UpdateExpression:          aws.String("ADD #balance :amount, #entries :one"),
			ExpressionAttributeNames:  map[string]string{"#balance": AttrBalance, "#entries": AttrEntries},
			ExpressionAttributeValues: map[string]types.AttributeValue{":amount": n(e.Amount), ":one": n(1)},
		}},
	}})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) && len(canceled.CancellationReasons) > 0 &&
		aws.ToString(canceled.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		err = Apply(table, e).ConditionFailed(0, canceled.CancellationReasons[0].Item)
		if errors.Is(err, sqsonce.ErrAlreadyApplied) {
			return Result(e), nil
		}
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("apply event %s: %w", e.ID, err)
	}
	return Result(e), nil
}
