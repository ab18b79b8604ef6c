package ledger

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// Defaults of the consumer function's settings.
const (
	KeyPrefixDefault  = "payments"
	CacheSizeDefault  = 1024
	BreakAfterDefault = 3
)

// AppConfig is the consumer function's configuration, as its environment
// gives it. See LoadAppConfig for the variables.
type AppConfig struct {
	IdempotencyTable string
	LedgerTable      string
	KeyPrefix        string
	TTL              time.Duration
	Keys             sqskey.Source
	Concurrency      int
	Mode             Mode
	LogLevel         slog.Level
	PermanentDLQURL  string
	PermanentFIFODLQ string
	CacheSize        int
	BreakAfter       int
	ClaimAhead       bool
}

// LoadAppConfig reads the configuration through getenv (os.Getenv in main):
//
//	IDEMPOTENCY_TABLE       required: the idempotency table
//	LEDGER_TABLE            required: the ledger table
//	IDEMPOTENCY_KEY_PREFIX  default "payments"; stable, never the function name
//	IDEMPOTENCY_TTL         default 1h (Go duration)
//	IDEMPOTENCY_CACHE_SIZE  default 1024 completed keys; 0 disables the cache
//	KEY_SOURCE              default body-id | message-id | dedup-id | attribute:<name>
//	CONCURRENCY             default 8 records (or FIFO groups) at once
//	COMPLETION_MODE         default tx | plain | batch
//	BREAK_AFTER             default 3 consecutive store failures fail the rest of the batch; 0 disables
//	CLAIM_AHEAD             default true: tx and plain modes claim a batch's keys in one request
//	LOG_LEVEL               default INFO (DEBUG, INFO, WARN, ERROR)
//	PERMANENT_DLQ_URL       optional: send permanent failures of the standard queue to this DLQ at once
//	PERMANENT_FIFO_DLQ_URL  optional: the same for the FIFO queue (its DLQ must be FIFO)
//
// Every error names the variable and what is wrong with it.
func LoadAppConfig(getenv func(string) string) (AppConfig, error) {
	cfg := AppConfig{
		IdempotencyTable: getenv("IDEMPOTENCY_TABLE"),
		LedgerTable:      getenv("LEDGER_TABLE"),
		KeyPrefix:        getenv("IDEMPOTENCY_KEY_PREFIX"),
		PermanentDLQURL:  getenv("PERMANENT_DLQ_URL"),
		PermanentFIFODLQ: getenv("PERMANENT_FIFO_DLQ_URL"),
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = KeyPrefixDefault
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if cfg.IdempotencyTable == "" {
		bad("IDEMPOTENCY_TABLE", "required: the name of the idempotency table")
	}
	if cfg.LedgerTable == "" {
		bad("LEDGER_TABLE", "required: the name of the ledger table")
	}
	cfg.TTL = idempotency.TTLDefault
	if v := getenv("IDEMPOTENCY_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			bad("IDEMPOTENCY_TTL", "%q is not a duration of at least 1s (e.g. 1h, 90m)", v)
		}
		cfg.TTL = d
	}
	intVar := func(name string, def, min int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			bad(name, "%q is not an integer of at least %d", v, min)
		}
		return n
	}
	cfg.CacheSize = intVar("IDEMPOTENCY_CACHE_SIZE", CacheSizeDefault, 0)
	cfg.Concurrency = intVar("CONCURRENCY", sqsbatch.ConcurrencyDefault, 1)
	cfg.BreakAfter = intVar("BREAK_AFTER", BreakAfterDefault, 0)
	cfg.ClaimAhead = true
	if v := getenv("CLAIM_AHEAD"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("CLAIM_AHEAD", "%q is not true or false", v)
		}
		cfg.ClaimAhead = b
	}
	var err error
	if cfg.Keys, err = sqskey.Parse(getenv("KEY_SOURCE")); err != nil {
		bad("KEY_SOURCE", "%v", err)
	}
	if cfg.Mode, err = ParseMode(getenv("COMPLETION_MODE")); err != nil {
		bad("COMPLETION_MODE", "%v", err)
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			bad("LOG_LEVEL", "%q is not DEBUG, INFO, WARN or ERROR", v)
		}
	}
	if len(errs) > 0 {
		return AppConfig{}, fmt.Errorf("consumer configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// AppClients are the AWS clients the consumer uses; main builds them once
// per execution environment.
type AppClients struct {
	DynamoDB *dynamodb.Client
	// DLQ sends permanent failures when AppConfig.PermanentDLQURL is set.
	DLQ sqsbatch.Sender
}

// NewApp wires the consumer: the DynamoDB idempotency store, the guard, the
// ledger consumer and the batch processor whose Handle is the Lambda
// handler. Logs and metrics (Embedded Metric Format) go to out. In ModeBatch
// the handler is a *BatchConsumer and the returned *Consumer is nil.
func NewApp(cfg AppConfig, clients AppClients, out io.Writer) (Handler, *Consumer, error) {
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
	bcfg := sqsbatch.Config{
		Concurrency: cfg.Concurrency,
		BreakAfter:  cfg.BreakAfter,
		IsOutage:    IsOutage,
		Logger:      logger,
		Metrics:     out,
	}
	if cfg.PermanentDLQURL != "" || cfg.PermanentFIFODLQ != "" {
		if clients.DLQ == nil {
			return nil, nil, errors.New("ledger: PERMANENT_DLQ_URL or PERMANENT_FIFO_DLQ_URL is set but no SQS client was given")
		}
		bcfg.DLQ = &sqsbatch.DLQ{Client: clients.DLQ, QueueURL: cfg.PermanentDLQURL, FIFOQueueURL: cfg.PermanentFIFODLQ}
	}
	if cfg.Mode == ModeBatch {
		batch, err := newBatchApp(cfg, clients, logger, bcfg)
		return batch, nil, err
	}
	store, err := dynamostore.New(clients.DynamoDB, cfg.IdempotencyTable)
	if err != nil {
		return nil, nil, err
	}
	guard, err := idempotency.NewGuard(store, idempotency.Config{KeyPrefix: cfg.KeyPrefix, TTL: cfg.TTL, CacheSize: cfg.CacheSize})
	if err != nil {
		return nil, nil, err
	}
	consumer, err := NewConsumer(ConsumerConfig{
		Guard: guard, DB: clients.DynamoDB, Table: cfg.LedgerTable, Mode: cfg.Mode, Keys: cfg.Keys, Logger: logger,
	})
	if err != nil {
		return nil, nil, err
	}
	proc, err := sqsbatch.New(consumer.Handle, bcfg)
	if err != nil {
		return nil, nil, err
	}
	if cfg.ClaimAhead {
		return consumer.ClaimAhead(proc), consumer, nil
	}
	return proc, consumer, nil
}
