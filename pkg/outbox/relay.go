package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ConcurrencyDefault is how many groups the relay sends at once.
const ConcurrencyDefault = 8

// TableAPI is the part of the DynamoDB client the relay calls, to mark
// items sent or failed. *dynamodb.Client implements it.
type TableAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// Clients are the relay's AWS clients. DynamoDB is required; a destination
// kind without its client fails (and retries) its items.
type Clients struct {
	DynamoDB    TableAPI
	SQS         SQSAPI
	SNS         SNSAPI
	EventBridge EventBridgeAPI
}

// RelayConfig configures a Relay. Table is required; every other field's
// zero value takes the default noted.
type RelayConfig struct {
	// Table is the outbox table whose stream the relay reads.
	Table Table
	// Concurrency is how many groups (a FIFO group, or an event of no
	// group) are sent at once; a group's events go one after the other.
	// Default ConcurrencyDefault.
	Concurrency int
	// Logger receives one line per item refused or retried and one per
	// batch. Default slog.Default().
	Logger *slog.Logger
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Metrics, when set, receives each batch's counts (OutboxSent,
	// OutboxRefused, OutboxRetried) in Embedded Metric Format.
	Metrics *EMF
}

// Relay sends the outbox items of a DynamoDB stream to their destinations.
type Relay struct {
	table  Table
	cfg    RelayConfig
	db     TableAPI
	sqs    SQSAPI
	sns    SNSAPI
	events EventBridgeAPI
}

// NewRelay returns a Relay of cfg's table with clients c.
func NewRelay(cfg RelayConfig, c Clients) (*Relay, error) {
	if err := cfg.Table.Validate(); err != nil {
		return nil, err
	}
	if c.DynamoDB == nil {
		return nil, &ConfigError{"Clients.DynamoDB", "nil: give a DynamoDB client (dynamodb.NewFromConfig)"}
	}
	if cfg.Concurrency < 0 {
		return nil, &ConfigError{"RelayConfig.Concurrency", "must not be negative"}
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = ConcurrencyDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Relay{table: cfg.Table.WithDefaults(), cfg: cfg, db: c.DynamoDB, sqs: c.SQS, sns: c.SNS, events: c.EventBridge}, nil
}

// RelayReport is what became of one stream batch.
type RelayReport struct {
	// Response is what the Lambda function returns: the stream records to
	// retry (Lambda retries from the lowest sequence number reported).
	Response events.DynamoDBEventResponse
	Sent     int // items sent and marked sent
	Refused  int // items their destination refused for good, marked failed
	Retried  int // items reported for a retry (a failure, or after a failure in their group)
	Ignored  int // records that are no pending outbox item (sent, failed, removed, other items)
}

// Handle has the signature lambda.Start expects for a DynamoDB stream
// event source mapping with ReportBatchItemFailures.
func (r *Relay) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return r.Process(ctx, ev).Response, nil
}

// entry is a pending item and its stream record.
type entry struct {
	at   int    // its record's index in the batch
	seq  string // its record's sequence number
	item Item
}

// Process sends the pending items of a stream batch. Items of one
// partition (a FIFO group) go one after the other in stream order, which is
// their commit order; the first that fails stops its group, and it and the
// rest of its group are reported for a retry. An item its destination
// refuses for good is marked failed and does not stop its group.
func (r *Relay) Process(ctx context.Context, ev events.DynamoDBEvent) RelayReport {
	var report RelayReport
	groups := map[string][]entry{}
	var order []string
	for i, rec := range ev.Records {
		if rec.EventName == "REMOVE" || rec.Change.NewImage == nil {
			report.Ignored++
			continue
		}
		it, ok, err := r.table.ParseItem(fromStream(rec.Change.NewImage))
		switch {
		case !ok:
			report.Ignored++
			continue
		case err != nil:
			r.cfg.Logger.ErrorContext(ctx, "outbox: unreadable item, ignored", "sequence", rec.Change.SequenceNumber, "error", err.Error())
			report.Ignored++
			continue
		case it.Status != StatusPending:
			report.Ignored++
			continue
		}
		if _, seen := groups[it.Partition]; !seen {
			order = append(order, it.Partition)
		}
		groups[it.Partition] = append(groups[it.Partition], entry{at: i, seq: rec.Change.SequenceNumber, item: it})
	}
	var mu sync.Mutex
	retry := map[int]string{}
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, p := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sent, refused, failedFrom := r.sendGroup(ctx, groups[p])
			mu.Lock()
			defer mu.Unlock()
			report.Sent += sent
			report.Refused += refused
			for _, e := range groups[p][failedFrom:] {
				retry[e.at] = e.seq
			}
		})
	}
	wg.Wait()
	report.Retried = len(retry)
	report.Response.BatchItemFailures = []events.DynamoDBBatchItemFailure{}
	for i := range ev.Records {
		if seq, ok := retry[i]; ok {
			report.Response.BatchItemFailures = append(report.Response.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
		}
	}
	if err := r.cfg.Metrics.write(r.cfg.Clock(), report); err != nil {
		r.cfg.Logger.WarnContext(ctx, "outbox: write metrics", "error", err.Error())
	}
	r.cfg.Logger.InfoContext(ctx, "outbox: batch relayed", "records", len(ev.Records), "sent", report.Sent,
		"refused", report.Refused, "retried", report.Retried, "ignored", report.Ignored)
	return report
}

// sendGroup sends a group's entries in order; failedFrom is the index of
// the first that failed (len(es) when none did).
func (r *Relay) sendGroup(ctx context.Context, es []entry) (sent, refused, failedFrom int) {
	for k, e := range es {
		if ctx.Err() != nil {
			return sent, refused, k
		}
		err := r.send(ctx, e.item)
		if re := (*RefusedError)(nil); errors.As(err, &re) {
			if err := r.mark(ctx, e.item, StatusFailed, err.Error()); err != nil {
				r.cfg.Logger.WarnContext(ctx, "outbox: marking a refused item failed did not succeed; retried", "id", e.item.ID, "error", err.Error())
				return sent, refused, k
			}
			r.cfg.Logger.ErrorContext(ctx, "outbox: item refused by its destination, marked failed", "id", e.item.ID,
				"destination", e.item.Event.To.target(), "error", err.Error())
			refused++
			continue
		}
		if err == nil {
			err = r.mark(ctx, e.item, StatusSent, "")
		}
		if err != nil {
			r.cfg.Logger.WarnContext(ctx, "outbox: item not sent; retried", "id", e.item.ID, "destination", e.item.Event.To.target(), "error", err.Error())
			return sent, refused, k
		}
		sent++
	}
	return sent, refused, len(es)
}

// mark marks an item sent (or deletes it, with a negative SentRetention)
// or failed. An item that is gone was handled by another relay: no error.
func (r *Relay) mark(ctx context.Context, it Item, status, reason string) error {
	now := r.cfg.Clock()
	names := map[string]string{"#pk": r.table.PartitionKey}
	cond := aws.String("attribute_exists(#pk)")
	var err error
	switch {
	case status == StatusSent && r.table.SentRetention < 0:
		_, err = r.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(r.table.Name), Key: r.table.key(it)})
	case status == StatusSent:
		names["#st"], names["#ttl"], names["#at"] = attrStatus, r.table.TTLAttribute, attrSent
		_, err = r.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(r.table.Name), Key: r.table.key(it), ConditionExpression: cond,
			UpdateExpression:         aws.String("SET #st = :st, #at = :at, #ttl = :ttl"),
			ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":st": str(StatusSent), ":at": num(now.UnixMilli()), ":ttl": num(now.Add(r.table.SentRetention).Unix()),
			},
		})
	default:
		names["#st"], names["#err"], names["#at"] = attrStatus, attrError, attrFailed
		_, err = r.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(r.table.Name), Key: r.table.key(it), ConditionExpression: cond,
			UpdateExpression:          aws.String("SET #st = :st, #err = :err, #at = :at"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: map[string]types.AttributeValue{":st": str(status), ":err": str(reason), ":at": num(now.UnixMilli())},
		})
	}
	if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark %s %s: %w", it.ID, status, err)
	}
	return nil
}

// Resend marks a failed (or sent) item pending again, so the relay sends it
// once more from the stream: what sqsonce outbox resend does. It counts the
// item's resends, so the item changes (and the stream carries it) even when
// it was pending already.
func Resend(ctx context.Context, db TableAPI, t Table, it Item) error {
	t = t.WithDefaults()
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: t.key(it), ConditionExpression: aws.String("attribute_exists(#pk)"),
		UpdateExpression:          aws.String("SET #st = :st REMOVE #err, #ttl ADD #n :one"),
		ExpressionAttributeNames:  map[string]string{"#pk": t.PartitionKey, "#st": attrStatus, "#err": attrError, "#ttl": t.TTLAttribute, "#n": "resends"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": str(StatusPending), ":one": num(1)},
	})
	if err != nil {
		return fmt.Errorf("resend %s: %w", it.ID, err)
	}
	return nil
}
