package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// Defaults of BatchConfig.
const (
	// MaxActionsDefault is DynamoDB's limit of actions per transaction.
	MaxActionsDefault = 100
	// TxConcurrencyDefault bounds the transactions of one batch in flight.
	TxConcurrencyDefault = 4
	// ConflictAttemptsDefault bounds the attempts of a transaction cancelled
	// by TransactionConflict (another transaction on a hot balance item).
	ConflictAttemptsDefault = 6
	// ConflictBackoffDefault is the first backoff after a TransactionConflict;
	// it doubles each attempt, jittered between half and all of it.
	ConflictBackoffDefault = 10 * time.Millisecond
)

// BatchAPI is the part of the DynamoDB client the batch mode calls:
// TransactWriteItems, and GetItem when an endpoint does not return the
// conflicting record with a cancellation (AWS and moto do).
type BatchAPI interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// BatchConfig configures a BatchConsumer. Zero fields take the default noted.
type BatchConfig struct {
	// DB is the DynamoDB client. Required.
	DB BatchAPI
	// IdempotencyTable holds the idempotency records. Required.
	IdempotencyTable string
	// Table is the ledger table. Required.
	Table string
	// KeyPrefix namespaces the keys, as idempotency.Config.KeyPrefix: use
	// the same prefix as the other modes so they see each other's records.
	// Required.
	KeyPrefix string
	// TTL is how long a completed key is remembered. Default
	// idempotency.TTLDefault (1h).
	TTL time.Duration
	// Keys is where the idempotency key comes from. Default: the body's id.
	Keys sqskey.Source
	// MaxActions bounds the actions of one transaction. Default
	// MaxActionsDefault (100, DynamoDB's limit); at least 3.
	MaxActions int
	// TxConcurrency bounds the transactions of one batch in flight. Default
	// TxConcurrencyDefault (4).
	TxConcurrency int
	// ConflictAttempts bounds the attempts of a transaction cancelled by
	// TransactionConflict. Default ConflictAttemptsDefault (6).
	ConflictAttempts int
	// ConflictBackoff is the first backoff after a TransactionConflict.
	// Default ConflictBackoffDefault (10ms).
	ConflictBackoff time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Logger receives one line per applied or replayed event. Default
	// slog.Default().
	Logger *slog.Logger
	// Report is how the outcomes are reported, logged and counted: the
	// same sqsbatch configuration as the per-record modes (DLQ for
	// permanent failures, metrics, breaker). Its Logger defaults to Logger.
	Report sqsbatch.Config
}

// WithDefaults returns a copy of c with defaults applied to zero fields.
func (c BatchConfig) WithDefaults() BatchConfig {
	if c.TTL == 0 {
		c.TTL = idempotency.TTLDefault
	}
	if c.MaxActions == 0 {
		c.MaxActions = MaxActionsDefault
	}
	if c.TxConcurrency == 0 {
		c.TxConcurrency = TxConcurrencyDefault
	}
	if c.ConflictAttempts == 0 {
		c.ConflictAttempts = ConflictAttemptsDefault
	}
	if c.ConflictBackoff == 0 {
		c.ConflictBackoff = ConflictBackoffDefault
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Report.Logger == nil {
		c.Report.Logger = c.Logger
	}
	return c
}

func (c BatchConfig) validate() error {
	switch {
	case c.DB == nil:
		return errors.New("ledger: BatchConfig.DB is required")
	case c.IdempotencyTable == "":
		return errors.New("ledger: BatchConfig.IdempotencyTable is required (e.g. from IDEMPOTENCY_TABLE)")
	case c.Table == "":
		return errors.New("ledger: BatchConfig.Table is required (the ledger table, e.g. from LEDGER_TABLE)")
	case c.KeyPrefix == "":
		return errors.New(`ledger: BatchConfig.KeyPrefix is required: the same stable prefix as the other modes, e.g. "payments"`)
	case c.TTL < time.Second:
		return fmt.Errorf("ledger: BatchConfig.TTL must be at least 1s, got %s", c.TTL)
	case c.MaxActions < 3 || c.MaxActions > MaxActionsDefault:
		return fmt.Errorf("ledger: BatchConfig.MaxActions must be between 3 and %d, got %d", MaxActionsDefault, c.MaxActions)
	case c.TxConcurrency < 1:
		return fmt.Errorf("ledger: BatchConfig.TxConcurrency must be at least 1, got %d", c.TxConcurrency)
	case c.ConflictAttempts < 1:
		return fmt.Errorf("ledger: BatchConfig.ConflictAttempts must be at least 1, got %d", c.ConflictAttempts)
	case c.ConflictBackoff < 0:
		return fmt.Errorf("ledger: BatchConfig.ConflictBackoff must not be negative, got %s", c.ConflictBackoff)
	}
	return nil
}

// BatchConsumer is ModeBatch: it applies a whole SQS batch of ledger events
// in a few transactions, each putting the COMPLETED idempotency records of up
// to about 49 events together with their ledger entries and one balance
// increment per account. There is no separate claim: a new event costs a
// fraction of one request, a duplicate is found by the failed condition of
// its record (whose stored result is then replayed). Records are in the
// format of dynamostore, so every mode sees the others' keys.
//
// It is safe for concurrent use; its Handle is the Lambda handler.
type BatchConsumer struct {
	cfg    BatchConfig
	report *sqsbatch.Processor
	stats  struct{ executed, replayed, already, invalid, mismatched, retryable, txs atomic.Int64 }
}

// NewBatchConsumer checks cfg and returns a BatchConsumer.
func NewBatchConsumer(cfg BatchConfig) (*BatchConsumer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &BatchConsumer{cfg: cfg}
	var err error
	if b.report, err = sqsbatch.New(verdictOf, cfg.Report); err != nil {
		return nil, err
	}
	return b, nil
}

// Stats returns the counts so far.
func (b *BatchConsumer) Stats() Stats {
	return Stats{
		Executed: b.stats.executed.Load(), Replayed: b.stats.replayed.Load(), AlreadyApplied: b.stats.already.Load(),
		Invalid: b.stats.invalid.Load(), Mismatched: b.stats.mismatched.Load(), Retryable: b.stats.retryable.Load(),
	}
}

// Transactions is the number of TransactWriteItems calls made so far
// (attempts included).
func (b *BatchConsumer) Transactions() int64 { return b.stats.txs.Load() }

// Handle applies a batch and returns its partial batch response; it has the
// signature lambda.Start expects.
func (b *BatchConsumer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r, err := b.Process(ctx, ev)
	return r.Response, err
}

// Process applies a batch, then reports every record's outcome through an
// sqsbatch.Processor, so logs, metrics, the DLQ of permanent failures and
// FIFO ordering (a record after a failed one of its group is reported too,
// and replayed when redelivered) are those of the per-record modes.
func (b *BatchConsumer) Process(ctx context.Context, ev events.SQSEvent) (sqsbatch.Report, error) {
	for _, rec := range ev.Records {
		if rec.MessageId == "" { // the processor rejects the whole batch: apply none of it
			return b.report.Process(ctx, ev)
		}
	}
	verdicts := b.apply(ctx, ev.Records)
	return b.report.Process(context.WithValue(ctx, verdictsKey{}, verdicts), ev)
}

type verdictsKey struct{}

// verdictOf is the reporting processor's handler: the error the batch
// decided for the message.
func verdictOf(ctx context.Context, msg events.SQSMessage) error {
	verdicts, _ := ctx.Value(verdictsKey{}).(map[string]error)
	err, ok := verdicts[msg.MessageId]
	if !ok {
		return fmt.Errorf("message %s: not in the applied batch", msg.MessageId)
	}
	return err
}

// outcome is what became of one message.
type outcome int

const (
	pending outcome = iota
	executed
	replayed
	alreadyApplied
	failed
)

// batchMsg is one decodable message of a batch.
type batchMsg struct {
	id      string // SQS message ID
	ev      Event
	key     string // stored key
	hash    string // payload hash
	result  []byte
	outcome outcome
	err     error  // when failed
	cached  []byte // the stored result, on a replay
}

// apply decides every record of the batch: nil, a Permanent error or a
// retryable one, by message ID.
func (b *BatchConsumer) apply(ctx context.Context, records []events.SQSMessage) map[string]error {
	verdicts := make(map[string]error, len(records))
	var primaries []*batchMsg
	first := map[string]*batchMsg{}
	type follower struct{ m, of *batchMsg }
	var followers []follower
	for _, rec := range records {
		if _, seen := verdicts[rec.MessageId]; seen {
			continue
		}
		ev, err := Decode([]byte(rec.Body))
		if err == nil {
			var key string
			if key, err = b.cfg.Keys.Key(rec, ev.ID); err == nil {
				m := &batchMsg{
					id: rec.MessageId, ev: ev, key: idempotency.StoredKey(b.cfg.KeyPrefix, key),
					hash: idempotency.PayloadHash(ev.Canonical()), result: Result(ev),
				}
				verdicts[rec.MessageId] = nil
				if of := first[m.key]; of != nil {
					followers = append(followers, follower{m, of})
					continue
				}
				first[m.key] = m
				primaries = append(primaries, m)
				continue
			}
		}
		b.stats.invalid.Add(1)
		verdicts[rec.MessageId] = sqsbatch.Permanent(fmt.Errorf("message %s: %w", rec.MessageId, err))
	}

	b.run(ctx, primaries)
	for _, m := range primaries {
		verdicts[m.id] = b.judge(ctx, m)
	}
	for _, f := range followers {
		switch {
		case f.of.outcome != failed && f.m.hash == f.of.hash:
			f.m.outcome, f.m.cached = replayed, f.of.result
			if f.of.outcome == replayed {
				f.m.cached = f.of.cached
			}
		case f.of.outcome != failed || errors.Is(f.of.err, idempotency.ErrPayloadMismatch) && f.m.hash == f.of.hash:
			f.m.outcome, f.m.err = failed, fmt.Errorf("claim %s: %w", f.m.key, idempotency.ErrPayloadMismatch)
		default: // its twin failed and will be redelivered: so will this one
			f.m.outcome, f.m.err = failed, fmt.Errorf("claim %s: %w (its twin %s in this batch failed)", f.m.key, idempotency.ErrInProgress, f.of.id)
		}
		verdicts[f.m.id] = b.judge(ctx, f.m)
	}
	return verdicts
}

// run applies the primaries (distinct keys) in rounds: a round never holds
// two messages with the same ledger entry (possible when keys are not event
// ids), since one transaction may not write an item twice. Each round is
// packed into transactions run TxConcurrency at a time.
func (b *BatchConsumer) run(ctx context.Context, msgs []*batchMsg) {
	for len(msgs) > 0 {
		var round, later []*batchMsg
		entries := make(map[[2]string]bool, len(msgs))
		for _, m := range msgs {
			e := [2]string{m.ev.Account, m.ev.ID}
			if entries[e] {
				later = append(later, m)
				continue
			}
			entries[e] = true
			round = append(round, m)
		}
		sem := make(chan struct{}, b.cfg.TxConcurrency)
		var wg sync.WaitGroup
		for _, chunk := range pack(round, b.cfg.MaxActions) {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				b.commit(ctx, chunk)
			}()
		}
		wg.Wait()
		msgs = later
	}
}

// judge counts and logs a message's outcome and turns it into its verdict,
// as Consumer.judge does for the per-record modes.
func (b *BatchConsumer) judge(ctx context.Context, m *batchMsg) error {
	log := b.cfg.Logger.With("message_id", m.id)
	switch m.outcome {
	case executed:
		b.stats.executed.Add(1)
		log.InfoContext(ctx, "ledger: event applied", "idempotency", "executed")
		return nil
	case replayed:
		b.stats.replayed.Add(1)
		log.InfoContext(ctx, "ledger: duplicate suppressed", "idempotency", "replayed", "from_cache", false)
		return nil
	case alreadyApplied:
		b.stats.already.Add(1)
		log.InfoContext(ctx, "ledger: entry already applied", "idempotency", "already-applied")
		return nil
	}
	err := m.err
	if err == nil {
		err = errors.New("not applied")
	}
	if errors.Is(err, idempotency.ErrPayloadMismatch) {
		b.stats.mismatched.Add(1)
		return sqsbatch.Permanent(sqsbatch.WithClass(fmt.Errorf("message %s: %w", m.id, err), ClassPayloadMismatch))
	}
	b.stats.retryable.Add(1)
	class := ClassDownstream
	switch {
	case errors.Is(err, idempotency.ErrInProgress):
		class = ClassInProgress
	case errors.Is(err, idempotency.ErrStoreFailed):
		class = ClassStoreFailed
	}
	return sqsbatch.WithClass(fmt.Errorf("message %s: %w", m.id, err), class)
}
