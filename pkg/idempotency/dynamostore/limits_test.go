package dynamostore_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// limitedDB is a fake DynamoDB that enforces the documented limits of
// TransactWriteItems: at most 100 actions and 4 MB a request (refused
// whole, ValidationException), at most 400 KB an item (a ValidationError
// cancellation reason for its action). An ADD to an attribute named in
// strings (a string attribute, say) is a ValidationError reason too. Every
// condition passes; the ADDs of committed transactions are summed.
type limitedDB struct {
	dynamostore.API // nil: only transactions are served
	strings         map[string]bool

	mu   sync.Mutex
	txs  int
	sums map[string]*big.Int // "item attr" -> sum of the committed ADDs
}

const kb = 1024

func fakeSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		default:
			n += 21
		}
	}
	return n
}

func (db *limitedDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	refuse := func(msg string) error {
		return &smithy.GenericAPIError{Code: "ValidationException", Message: msg}
	}
	if len(in.TransactItems) > 100 {
		return nil, refuse("Member must have length less than or equal to 100")
	}
	total := 0
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	cancelled := false
	for i, it := range in.TransactItems {
		reasons[i].Code = aws.String("None")
		switch {
		case it.Put != nil:
			size := fakeSize(it.Put.Item)
			total += size
			if size > 400*kb {
				reasons[i].Code, cancelled = aws.String("ValidationError"), true
			}
		case it.Update != nil:
			total += fakeSize(it.Update.Key) + fakeSize(it.Update.ExpressionAttributeValues)
			for _, attr := range it.Update.ExpressionAttributeNames {
				if db.strings[attr] {
					reasons[i].Code, cancelled = aws.String("ValidationError"), true
				}
			}
		}
	}
	if total > 4*kb*kb {
		return nil, refuse("Transaction request cannot be larger than 4 MB")
	}
	if cancelled {
		return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.txs++
	if db.sums == nil {
		db.sums = map[string]*big.Int{}
	}
	for _, it := range in.TransactItems {
		u := it.Update
		if u == nil || !strings.HasPrefix(aws.ToString(u.UpdateExpression), "ADD ") {
			continue
		}
		for _, term := range strings.Split(strings.TrimPrefix(aws.ToString(u.UpdateExpression), "ADD "), ", ") {
			name, value, _ := strings.Cut(term, " ")
			key := fmt.Sprint(u.Key["entry"].(*types.AttributeValueMemberS).Value, " ", u.ExpressionAttributeNames[name])
			n, _ := new(big.Int).SetString(u.ExpressionAttributeValues[value].(*types.AttributeValueMemberN).Value, 10)
			if db.sums[key] == nil {
				db.sums[key] = new(big.Int)
			}
			db.sums[key].Add(db.sums[key], n)
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (db *limitedDB) sum(item, attr string) string {
	db.mu.Lock()
	defer db.mu.Unlock()
	if n := db.sums[item+" "+attr]; n != nil {
		return n.String()
	}
	return "0"
}

// put is a Put to the ledger-shaped table t of an item with a value of
// size bytes.
func put(t, entry string, size int) dynamostore.Write {
	return dynamostore.Put(&types.Put{TableName: aws.String(t), Item: map[string]types.AttributeValue{
		"account": s("acc"), "entry": s(entry), "value": s(strings.Repeat("x", size)),
	}}, "account", "entry")
}

func add(entry, attr string, n int64) dynamostore.Write {
	return dynamostore.Add("t", map[string]types.AttributeValue{"account": s("acc"), "entry": s(entry)}, attr, n)
}

// commitAll commits inputs named by their keys through a store over db.
func commitAll(t *testing.T, db dynamostore.API, in map[string]idempotency.CommitInput[dynamostore.Write]) map[string]error {
	t.Helper()
	store, err := dynamostore.New(db, "records")
	require.NoError(t, err)
	var keys []string
	var batch []idempotency.CommitInput[dynamostore.Write]
	for k, i := range in {
		i.Key = k
		keys = append(keys, k)
		batch = append(batch, i)
	}
	out := map[string]error{}
	for i, o := range store.CommitBatch(context.Background(), batch) {
		out[keys[i]] = o.Err
	}
	return out
}

// Transactions are packed by size as well as by actions: twenty effects of
// 250 KB each (5 MB) commit, in transactions of at most 4 MB.
func TestCommitPacksTransactionsBySize(t *testing.T) {
	t.Parallel()
	db := &limitedDB{}
	in := map[string]idempotency.CommitInput[dynamostore.Write]{}
	for i := range 20 {
		in[fmt.Sprint("k", i)] = idempotency.CommitInput[dynamostore.Write]{Writes: []dynamostore.Write{put("t", fmt.Sprint("e", i), 250*kb)}}
	}
	for k, err := range commitAll(t, db, in) {
		require.NoError(t, err, k)
	}
	require.GreaterOrEqual(t, db.txs, 2)
}

// An effect that can never fit in a transaction fails alone, with
// ErrInvalidWrite, and its neighbours commit.
func TestCommitEffectThatCannotFitFailsAlone(t *testing.T) {
	t.Parallel()
	var overTx []dynamostore.Write
	for i := range 11 {
		overTx = append(overTx, put("t", fmt.Sprint("big", i), 390*kb))
	}
	for _, tc := range []struct {
		name string
		bad  idempotency.CommitInput[dynamostore.Write]
	}{
		{"an item over 400 KB", idempotency.CommitInput[dynamostore.Write]{Writes: []dynamostore.Write{put("t", "big", 401*kb)}}},
		{"a result over 400 KB", idempotency.CommitInput[dynamostore.Write]{Result: []byte(strings.Repeat("r", 401*kb))}},
		{"writes over 4 MB", idempotency.CommitInput[dynamostore.Write]{Writes: overTx}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := &limitedDB{}
			out := commitAll(t, db, map[string]idempotency.CommitInput[dynamostore.Write]{
				"good1": {Writes: []dynamostore.Write{put("t", "g1", kb), add("counter", "n", 1)}},
				"bad":   tc.bad,
				"good2": {Writes: []dynamostore.Write{put("t", "g2", kb), add("counter", "n", 1)}},
			})
			require.ErrorIs(t, out["bad"], dynamostore.ErrInvalidWrite)
			require.NoError(t, out["good1"])
			require.NoError(t, out["good2"])
			require.Equal(t, "2", db.sum("counter", "n"))
		})
	}
}

// A ValidationError reason fails only the effects whose own writes are
// invalid, with ErrInvalidWrite: on one effect's own write, or on an update
// that merges the Adds of many effects to one item (only the effect that
// adds to the invalid attribute fails; the rest commit, every Add counted
// once).
func TestCommitValidationErrorFailsOnlyTheInvalidEffect(t *testing.T) {
	t.Parallel()
	update := dynamostore.Update(&types.Update{
		TableName: aws.String("t"), Key: map[string]types.AttributeValue{"account": s("acc"), "entry": s("other")},
		UpdateExpression: aws.String("ADD #s :one"), ExpressionAttributeNames: map[string]string{"#s": "label"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	})
	for _, tc := range []struct {
		name string
		bad  []dynamostore.Write
	}{
		{"its own write", []dynamostore.Write{update}},
		{"a merged add", []dynamostore.Write{add("counter", "n", 100), add("counter", "label", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := &limitedDB{strings: map[string]bool{"label": true}}
			in := map[string]idempotency.CommitInput[dynamostore.Write]{"bad": {Writes: tc.bad}}
			for i := range 5 {
				in[fmt.Sprint("good", i)] = idempotency.CommitInput[dynamostore.Write]{Writes: []dynamostore.Write{add("counter", "n", 1), add(fmt.Sprint("own", i), "n", 1)}}
			}
			out := commitAll(t, db, in)
			require.ErrorIs(t, out["bad"], dynamostore.ErrInvalidWrite)
			require.NotErrorIs(t, out["bad"], idempotency.ErrStoreFailed)
			for i := range 5 {
				require.NoError(t, out[fmt.Sprint("good", i)])
				require.Equal(t, "1", db.sum(fmt.Sprint("own", i), "n"))
			}
			require.Equal(t, "5", db.sum("counter", "n"), "every valid Add counted once, the invalid effect's not at all")
		})
	}
}

// moto refuses a transaction with an item over 400 KB as a whole: the
// effect that writes it fails alone, before any request.
func TestCommitItemOverLimitFailsAloneOnMoto(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	store := newStore(t, client)
	table := awstest.NewTable(t, client, awstest.LedgerTable)
	g := newGuard(t, store, nil)
	res := guard.CommitBatch(context.Background(), g, []guard.TxItem[dynamostore.Write]{
		{Key: "good1", Writes: []dynamostore.Write{put(table, "g1", kb)}},
		{Key: "bad", Writes: []dynamostore.Write{put(table, "big", 450*kb)}},
		{Key: "good2", Writes: []dynamostore.Write{put(table, "g2", kb)}},
	})
	require.ErrorIs(t, res[1].Err, dynamostore.ErrInvalidWrite)
	require.NoError(t, res[0].Err)
	require.NoError(t, res[2].Err)
	require.Equal(t, guard.OutcomeExecuted, res[0].Result.Outcome)
}
