package esm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

// Defaults of StreamConfig.
const (
	// StreamBatchSizeDefault is Lambda's default batch size for DynamoDB
	// streams.
	StreamBatchSizeDefault = 100
	// StreamBatchSizeMax is Lambda's maximum (and GetRecords's limit).
	StreamBatchSizeMax = 1000
	// StreamPollIntervalDefault is the pause after a GetRecords that
	// returned nothing; Lambda polls each shard about four times a second.
	StreamPollIntervalDefault = 250 * time.Millisecond
	// StreamRetryBackoffDefault is the pause before a failed batch is
	// invoked again.
	StreamRetryBackoffDefault = 200 * time.Millisecond
)

// StreamsClient is the part of the DynamoDB Streams API a StreamMapping
// calls; *dynamodbstreams.Client satisfies it.
type StreamsClient interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// StreamConfig configures a StreamMapping.
type StreamConfig struct {
	// StreamARN is the table's stream (DescribeTable's LatestStreamArn).
	// Required.
	StreamARN string
	// Client reads the stream. Required.
	Client StreamsClient
	// Invoker runs the function, one batch at a time per shard. Required.
	Invoker Invoker
	// BatchSize is the most records in one invocation. Default
	// StreamBatchSizeDefault (100), at most StreamBatchSizeMax.
	BatchSize int
	// Region is the records' awsRegion. Default: the region in the ARN.
	Region string
	// PollInterval is the pause after an empty read. Default
	// StreamPollIntervalDefault.
	PollInterval time.Duration
	// RetryBackoff is the pause before a failed batch is invoked again.
	// Default StreamRetryBackoffDefault.
	RetryBackoff time.Duration
	// Logger receives the mapping's events. Default: discarded.
	Logger *slog.Logger
}

// StreamMapping feeds a function from a DynamoDB stream the way Lambda's
// stream event source mapping does with ReportBatchItemFailures, bisecting
// off, and retries that never give up (MaximumRetryAttempts -1,
// MaximumRecordAgeInSeconds -1): each shard is read from its start
// (TRIM_HORIZON) in order, one batch in flight per shard; a batch the
// function fails as a whole (an error, an unreadable response, a failure
// entry not in the batch) is invoked again, and a batch with
// batchItemFailures is resumed from the lowest sequence number reported, so
// no record is ever skipped. A shard's children are read once it is
// closed and read to its end.
type StreamMapping struct {
	cfg      StreamConfig
	region   string
	invoked  atomic.Int64
	records  atomic.Int64
	retried  atomic.Int64
	running  atomic.Bool
	mu       sync.Mutex
	shards   map[string]bool // shard ID -> read to its end
	readable map[string]bool // shards being read
}

// NewStream validates cfg and returns a StreamMapping.
func NewStream(cfg StreamConfig) (*StreamMapping, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = StreamBatchSizeDefault
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = StreamPollIntervalDefault
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = StreamRetryBackoffDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.StreamARN == "":
		return nil, fmt.Errorf("%w: StreamARN is required", ErrInvalidConfig)
	case cfg.Client == nil:
		return nil, fmt.Errorf("%w: Client is required", ErrInvalidConfig)
	case cfg.Invoker == nil:
		return nil, fmt.Errorf("%w: Invoker is required", ErrInvalidConfig)
	case cfg.BatchSize < 1 || cfg.BatchSize > StreamBatchSizeMax:
		return nil, fmt.Errorf("%w: BatchSize %d is not within 1..%d", ErrInvalidConfig, cfg.BatchSize, StreamBatchSizeMax)
	}
	region := cfg.Region
	if region == "" {
		region = regionOf(cfg.StreamARN)
	}
	return &StreamMapping{cfg: cfg, region: region, shards: map[string]bool{}, readable: map[string]bool{}}, nil
}

// StreamStats counts what a StreamMapping did.
type StreamStats struct {
	Invocations int64 // batches invoked, retries included
	Records     int64 // records settled (acknowledged by the function)
	Retried     int64 // batches invoked again after a failure, whole or partial
}

// Stats returns the counters; it is safe to call while the mapping runs.
func (m *StreamMapping) Stats() StreamStats {
	return StreamStats{Invocations: m.invoked.Load(), Records: m.records.Load(), Retried: m.retried.Load()}
}

// Run reads the stream's shards until ctx is cancelled, then lets the batch
// in flight of each shard finish and returns nil.
func (m *StreamMapping) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer m.running.Store(false)
	var wg sync.WaitGroup
	for ctx.Err() == nil {
		shards, err := m.describe(ctx)
		if err != nil {
			m.cfg.Logger.Warn("describe stream", "err", err)
		}
		for _, id := range shards {
			wg.Go(func() { m.readShard(ctx, id) })
		}
		_ = backoff.Sleep(ctx, 4*m.cfg.PollInterval)
	}
	wg.Wait()
	return nil
}

// describe returns the shards that can be read now and are not read yet:
// those whose parent was read to its end, or that have none (or whose
// parent the stream no longer lists).
func (m *StreamMapping) describe(ctx context.Context) ([]string, error) {
	var all []types.Shard
	var start *string
	for {
		out, err := m.cfg.Client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(m.cfg.StreamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", m.cfg.StreamARN, err)
		}
		all = append(all, out.StreamDescription.Shards...)
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			break
		}
	}
	listed := map[string]bool{}
	for _, s := range all {
		listed[aws.ToString(s.ShardId)] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var ready []string
	for _, s := range all {
		id, parent := aws.ToString(s.ShardId), aws.ToString(s.ParentShardId)
		if m.readable[id] || (parent != "" && listed[parent] && !m.shards[parent]) {
			continue
		}
		m.readable[id] = true
		ready = append(ready, id)
	}
	return ready, nil
}

// readShard reads one shard from its start to its end (or until ctx ends),
// invoking the function with each batch until it succeeds.
func (m *StreamMapping) readShard(ctx context.Context, shard string) {
	log := m.cfg.Logger.With("shard", shard)
	it, err := m.cfg.Client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(m.cfg.StreamARN), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		log.Warn("get shard iterator; tried again at the next describe", "err", err)
		m.mu.Lock()
		delete(m.readable, shard)
		m.mu.Unlock()
		return
	}
	iter := it.ShardIterator
	var pending []types.Record
	for ctx.Err() == nil {
		if iter != nil && len(pending) < m.cfg.BatchSize {
			out, err := m.cfg.Client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(int32(m.cfg.BatchSize - len(pending)))})
			if err != nil {
				log.Warn("get records", "err", err)
				_ = backoff.Sleep(ctx, m.cfg.PollInterval)
				continue
			}
			pending = append(pending, out.Records...)
			iter = out.NextShardIterator
		}
		if len(pending) == 0 {
			if iter == nil { // closed and read to its end
				m.mu.Lock()
				m.shards[shard] = true
				m.mu.Unlock()
				return
			}
			_ = backoff.Sleep(ctx, m.cfg.PollInterval)
			continue
		}
		batch := pending[:min(len(pending), m.cfg.BatchSize)]
		from, err := m.invoke(context.WithoutCancel(ctx), batch)
		m.records.Add(int64(from))
		pending = pending[from:]
		if err != nil || from < len(batch) {
			m.retried.Add(1)
			log.Debug("batch failed; invoked again from its first failure", "records", len(batch), "settled", from, "err", err)
			_ = backoff.Sleep(ctx, m.cfg.RetryBackoff)
		}
	}
}

// invoke runs one batch and returns how many of its records are settled:
// all of them, or those before the lowest sequence number reported failed;
// none when the batch failed as a whole (err).
func (m *StreamMapping) invoke(ctx context.Context, batch []types.Record) (int, error) {
	m.invoked.Add(1)
	payload, err := json.Marshal(m.event(batch))
	if err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	resp, err := m.cfg.Invoker.Invoke(ctx, payload)
	if err != nil {
		return 0, err
	}
	seqs := make(map[string]bool, len(batch))
	for _, r := range batch {
		seqs[aws.ToString(r.Dynamodb.SequenceNumber)] = true
	}
	failed, err := failedRecords(resp, seqs)
	if err != nil {
		return 0, err
	}
	for i, r := range batch {
		if failed[aws.ToString(r.Dynamodb.SequenceNumber)] {
			return i, nil
		}
	}
	return len(batch), nil
}

// event is the batch as Lambda hands it to the function.
func (m *StreamMapping) event(batch []types.Record) events.DynamoDBEvent {
	var ev events.DynamoDBEvent
	for _, r := range batch {
		d := r.Dynamodb
		rec := events.DynamoDBEventRecord{
			AWSRegion: m.region, EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
			EventSource: "aws:dynamodb", EventVersion: aws.ToString(r.EventVersion), EventSourceArn: m.cfg.StreamARN,
			Change: events.DynamoDBStreamRecord{
				Keys: streamImage(d.Keys), NewImage: streamImage(d.NewImage), OldImage: streamImage(d.OldImage),
				SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType),
			},
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// streamImage converts an image of the Streams API to Lambda's event types.
func streamImage(image map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if image == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(image))
	for k, v := range image {
		out[k] = streamValue(v)
	}
	return out
}

func streamValue(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = streamValue(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(streamImage(v.Value))
	}
	return events.NewNullAttribute()
}
