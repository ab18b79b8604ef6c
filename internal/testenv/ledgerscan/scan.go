// Package ledgerscan reads the example ledger's table whole, for the demo's report and
// the reliability tests: not a path a consumer takes.
package ledgerscan

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/ledger"
)

// Scanner is the DynamoDB call Snapshot makes.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Account is an account as the ledger table holds it.
type Account struct {
	Balance int64    // the balance item's running sum
	Counted int64    // the balance item's count of applied entries
	Entries []string // the event ids of the entry items
	Sum     int64    // the sum of the entry items' amounts
}

// Snapshot reads the whole ledger table (a consistent scan; for reports and
// tests, not for the hot path).
func Snapshot(ctx context.Context, db Scanner, table string) (map[string]*Account, error) {
	accounts := map[string]*Account{}
	var start map[string]types.AttributeValue
	for {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return nil, fmt.Errorf("scan the ledger %s: %w", table, err)
		}
		for _, item := range out.Items {
			account, entry := str(item[ledger.AttrAccount]), str(item[ledger.AttrEntry])
			a := accounts[account]
			if a == nil {
				a = &Account{}
				accounts[account] = a
			}
			if entry == ledger.BalanceEntry {
				a.Balance, a.Counted = number(item[ledger.AttrBalance]), number(item[ledger.AttrEntries])
				continue
			}
			a.Entries = append(a.Entries, entry)
			a.Sum += number(item[ledger.AttrAmount])
		}
		if len(out.LastEvaluatedKey) == 0 {
			return accounts, nil
		}
		start = out.LastEvaluatedKey
	}
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func number(v types.AttributeValue) int64 {
	if n, ok := v.(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(n.Value, 10, 64)
		return i
	}
	return 0
}
