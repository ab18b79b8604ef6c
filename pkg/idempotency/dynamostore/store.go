package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/backoff"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// Store is an idempotency.Store on a DynamoDB table. It is safe for
// concurrent use.
type Store struct {
	api   API
	table string
	l     Layout
	txs   int                                              // transactions of one ClaimBatch or CommitBatch in flight
	sleep func(ctx context.Context, d time.Duration) error // between contended attempts
	// layout checks a composite layout against its table's layout item
	// before the first request (api is then wrapped in a checkedAPI); nil
	// for a table of its own.
	layout *layoutCheck
}

var (
	_ idempotency.Store                 = (*Store)(nil)
	_ idempotency.BatchClaimer          = (*Store)(nil)
	_ idempotency.BatchCommitter[Write] = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithLayout keeps the records as l says (attribute names, a composite key
// in an existing table). Default: the zero Layout.
func WithLayout(l Layout) Option { return func(s *Store) { s.l = l } }

// WithTxConcurrency bounds the transactions of one ClaimBatch or
// CommitBatch in flight (a batch of 10,000 records makes about 100 of
// them). Zero keeps the default, TxConcurrencyDefault.
func WithTxConcurrency(n int) Option {
	return func(s *Store) {
		if n != 0 {
			s.txs = n
		}
	}
}

// TxConcurrencyDefault is the default of WithTxConcurrency.
const TxConcurrencyDefault = 4

// New returns a Store on table through api (in practice a *dynamodb.Client).
// It sends nothing: with a composite layout (Layout.SortKeyAttr), the
// store's first request checks the layout against the table's layout item
// first (see LayoutItemKey), and every request fails with a
// *LayoutMismatchError (ErrLayoutMismatch) when they differ. Call
// CheckLayout at start to fail there instead.
func New(api API, table string, opts ...Option) (*Store, error) {
	if api == nil {
		return nil, &ConfigError{"api", "nil: give a DynamoDB client (dynamodb.NewFromConfig)"}
	}
	if table == "" {
		return nil, &ConfigError{"table", "empty: give the idempotency table's name (e.g. from IDEMPOTENCY_TABLE)"}
	}
	s := &Store{api: api, table: table, sleep: backoff.Sleep, txs: TxConcurrencyDefault}
	for _, o := range opts {
		o(s)
	}
	s.l = s.l.WithDefaults()
	if err := s.l.validate(); err != nil {
		return nil, err
	}
	if s.l.SortKeyAttr != "" {
		s.layout = newLayoutCheck(api, table, s.l)
		s.api = checkedAPI{API: api, check: s.layout}
	}
	if s.txs < 1 {
		return nil, &ConfigError{"WithTxConcurrency", fmt.Sprintf("%d: must be at least 1", s.txs)}
	}
	return s, nil
}

// Layout is where the store keeps its records.
func (s *Store) Layout() Layout { return s.l }

// CheckLayout checks a composite layout against the table's layout item,
// writing the item when the table has none: a *LayoutMismatchError
// (ErrLayoutMismatch) names every field that differs. It costs one request,
// once per Store (the store's first write does the same). A table of its
// own has no layout item: nil, with no request.
func (s *Store) CheckLayout(ctx context.Context) error {
	if s.layout == nil {
		return nil
	}
	return s.layout.ensure(ctx, true)
}

const claimCondition = "attribute_not_exists(#id) OR #exp < :now OR (#status = :inprogress AND #lease < :now_ms)"

// claimConflictRetries bounds how often Claim retries when a conflicting
// record vanished between the failed put and the read that replaced a missing
// ALL_OLD (endpoints that ignore ReturnValuesOnConditionCheckFailure).
const claimConflictRetries = 3

// claimPut is the conditional put of item under claimCondition evaluated at
// now, returning the existing item when the condition fails.
func (s *Store) claimPut(item map[string]types.AttributeValue, now time.Time) *types.Put {
	return &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String(claimCondition),
		ExpressionAttributeNames: map[string]string{
			"#id": s.l.storedKeyAttr(), "#exp": s.l.ExpirationAttr, "#status": s.l.StatusAttr, "#lease": s.l.LeaseAttr,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":        num(now.Unix()),
			":now_ms":     num(now.UnixMilli()),
			":inprogress": str(string(idempotency.StatusInProgress)),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// Claim implements idempotency.Store with one conditional PutItem.
func (s *Store) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	put := s.claimPut(s.l.claimItem(in), in.Now)
	for range claimConflictRetries {
		_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           put.TableName,
			Item:                                put.Item,
			ConditionExpression:                 put.ConditionExpression,
			ExpressionAttributeNames:            put.ExpressionAttributeNames,
			ExpressionAttributeValues:           put.ExpressionAttributeValues,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return s.l.decode(put.Item)
		case !errors.As(err, &ccf):
			return idempotency.Record{}, fmt.Errorf("claim %s: %w", in.Key, err)
		}
		existing := ccf.Item
		if existing == nil { // the endpoint ignored ALL_OLD: read what is there
			rec, err := s.Get(ctx, in.Key)
			if errors.Is(err, idempotency.ErrNotFound) {
				continue
			}
			if err != nil {
				return idempotency.Record{}, err
			}
			return rec, idempotency.JudgeConflict(rec, in)
		}
		rec, err := s.l.decode(existing)
		if err != nil {
			return idempotency.Record{}, fmt.Errorf("claim %s: decode existing record: %w", in.Key, err)
		}
		return rec, idempotency.JudgeConflict(rec, in)
	}
	return idempotency.Record{}, fmt.Errorf("claim %s: record changed %d times during the claim", in.Key, claimConflictRetries)
}

// completeUpdate is the fenced update that marks a record completed.
func (s *Store) completeUpdate(key, token string, result []byte, expiresAt time.Time) *types.Update {
	update := "SET #status = :completed, #exp = :exp REMOVE #lease"
	values := map[string]types.AttributeValue{
		":completed":  str(string(idempotency.StatusCompleted)),
		":inprogress": str(string(idempotency.StatusInProgress)),
		":exp":        num(expiresAt.Unix()),
		":token":      str(token),
	}
	if len(result) > 0 {
		update = "SET #status = :completed, #exp = :exp, #data = :data REMOVE #lease"
		values[":data"] = resultValue(result)
	}
	names := map[string]string{"#status": s.l.StatusAttr, "#exp": s.l.ExpirationAttr, "#lease": s.l.LeaseAttr, "#token": s.l.TokenAttr}
	if len(result) > 0 {
		names["#data"] = s.l.ResultAttr
	}
	return &types.Update{
		TableName:                           aws.String(s.table),
		Key:                                 s.l.keyOf(key),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(ownedCondition),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// ownedCondition holds while the record is in progress under the token.
const ownedCondition = "#token = :token AND #status = :inprogress"

// Complete implements idempotency.Store with one conditional UpdateItem.
func (s *Store) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	u := s.completeUpdate(key, token, result, expiresAt)
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 u.TableName,
		Key:                       u.Key,
		UpdateExpression:          u.UpdateExpression,
		ConditionExpression:       u.ConditionExpression,
		ExpressionAttributeNames:  u.ExpressionAttributeNames,
		ExpressionAttributeValues: u.ExpressionAttributeValues,

		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && s.completedBy(ccf.Item, token) {
		return nil // a retried request whose first attempt completed the record
	}
	return fenced("complete", key, err)
}

// completedBy reports whether item is a record COMPLETED under token.
func (s *Store) completedBy(item map[string]types.AttributeValue, token string) bool {
	if item == nil {
		return false
	}
	rec, err := s.l.decode(item)
	return err == nil && rec.Status == idempotency.StatusCompleted && rec.Token == token
}

// Release implements idempotency.Store with one conditional DeleteItem.
func (s *Store) Release(ctx context.Context, key, token string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      s.l.keyOf(key),
		ConditionExpression:      aws.String(ownedCondition),
		ExpressionAttributeNames: map[string]string{"#token": s.l.TokenAttr, "#status": s.l.StatusAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":token":      str(token),
			":inprogress": str(string(idempotency.StatusInProgress)),
		},
	})
	return fenced("release", key, err)
}

// fenced maps a failed ownership condition to ErrLeaseLost.
func fenced(op, key string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ccf):
		return fmt.Errorf("%s %s: %w", op, key, idempotency.ErrLeaseLost)
	default:
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
}

// Get implements idempotency.Store with a strongly consistent GetItem.
func (s *Store) Get(ctx context.Context, key string) (idempotency.Record, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.l.keyOf(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("get %s: %w", key, err)
	}
	if out.Item == nil {
		return idempotency.Record{}, fmt.Errorf("get %s: %w", key, idempotency.ErrNotFound)
	}
	rec, err := s.l.decode(out.Item)
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("get %s: decode: %w", key, err)
	}
	return rec, nil
}
