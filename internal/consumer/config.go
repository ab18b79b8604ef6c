package consumer

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// KeyPrefixDefault is the default IDEMPOTENCY_KEY_PREFIX.
const KeyPrefixDefault = "payments"

// The idempotency stores of IDEMPOTENCY_STORE.
const (
	StoreDynamoDB = "dynamodb"
	StoreRedis    = "redis"
)

// Config is the consumer function's configuration, as its environment
// gives it. See LoadConfig for the variables.
type Config struct {
	IdempotencyTable string
	LedgerTable      string
	KeyPrefix        string
	TTL              time.Duration
	Keys             sqskey.Source
	Concurrency      int
	LogLevel         slog.Level
	PermanentDLQURL  string
	PermanentFIFODLQ string
	CacheSize        int
	BreakAfter       int
	// Layout is where the idempotency records live in IdempotencyTable.
	Layout dynamostore.Layout
	// Store is where the idempotency records live: StoreDynamoDB (the
	// default: each event's writes commit with its record) or StoreRedis
	// (Valkey/Redis at RedisURL: the writes run under a lease, fenced at
	// their completion, and the ledger's own entry condition keeps a
	// repeated write from applying twice).
	Store string
	// RedisURL is the Valkey/Redis endpoint (redis:// or rediss://), and
	// RedisCluster whether it is a cluster, when Store is StoreRedis.
	RedisURL     string
	RedisCluster bool
	// RedisWaitReplicas is how many replicas must acknowledge each claim,
	// completion and release within RedisWaitTimeout
	// (redisstore.WithWaitReplicas); 0 does not wait.
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
	// FunctionName labels the metrics (the EMF dimension FunctionName, which
	// the template's alarms and dashboard select).
	FunctionName string
	// PauseOnStoreOutage disables the function's event source mapping once
	// the store has failed for PauseAfter, and the scheduled probe enables
	// it again (sqsonce.Pause).
	PauseOnStoreOutage bool
	PauseAfter         time.Duration
	// Tracing is TRACING: telemetry.Off or telemetry.OTLP (telemetry.New).
	Tracing string
	// Notify, when set, publishes a notification of each applied event
	// through the outbox (NOTIFY_QUEUE_URL; see loadNotify).
	Notify *Notify
}

// LoadConfig reads the configuration through getenv (os.Getenv in main):
//
//	IDEMPOTENCY_TABLE       required: the idempotency table
//	LEDGER_TABLE            required: the ledger table
//	IDEMPOTENCY_KEY_PREFIX  default "payments"; stable, never the function name
//	IDEMPOTENCY_TTL         default 336h (14 days, the DLQ's retention: a redrive is replayed, not re-run;
//	                        Go duration); at least the longest lease (15m5s)
//	IDEMPOTENCY_CACHE_SIZE  default 1024 completed keys; 0 disables the cache
//	IDEMPOTENCY_PARTITION_KEY  default "id": the table's partition key attribute
//	IDEMPOTENCY_SORT_KEY    optional: the sort key attribute of a shared (single-table) table;
//	                        the partition key then holds "idempotency#<shard>"
//	IDEMPOTENCY_SHARDS      default 16 partition values, with IDEMPOTENCY_SORT_KEY
//	IDEMPOTENCY_TTL_ATTRIBUTE default "expiration": the table's TTL attribute
//	KEY_SOURCE              default body-id | message-id | dedup-id | attribute:<name>
//	CONCURRENCY             default 4 transactions of a batch in flight
//	BREAK_AFTER             default 3 consecutive store failures fail the rest of the batch; 0 disables
//	LOG_LEVEL               default INFO (DEBUG, INFO, WARN, ERROR)
//	PERMANENT_DLQ_URL       optional: send permanent failures of the standard queue to this DLQ at once
//	PERMANENT_FIFO_DLQ_URL  optional: the same for the FIFO queue (its DLQ must be FIFO)
//	IDEMPOTENCY_STORE       default dynamodb | redis (Valkey/Redis, ElastiCache)
//	REDIS_URL               with redis: redis://[user:password@]host:port or rediss:// (TLS)
//	REDIS_CLUSTER           with redis: true for a cluster (ElastiCache cluster mode); default false
//	REDIS_WAIT_REPLICAS     with redis: default 0; n > 0 makes each claim, completion and release wait
//	                        for n replicas (WAIT), failing as a store failure when fewer acknowledge,
//	                        so a failover cannot lose an acknowledged record
//	REDIS_WAIT_TIMEOUT      with redis: default 500ms (Go duration), under 1s: how long that waits
//	PAUSE_ON_STORE_OUTAGE   default false: true pauses consumption (disables the function's event
//	                        source mapping) once the store has failed for PAUSE_AFTER, until the
//	                        scheduled probe ({"sqsonce":"probe"}) finds it answering
//	PAUSE_AFTER             default 1m (Go duration): how long the store must fail, with no answer
//	TRACING                 default off | otlp: OpenTelemetry spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT,
//	                        OTEL_SERVICE_NAME and the SDK's other OTEL_* variables), exported before each
//	                        invocation returns
//	NOTIFY_QUEUE_URL, OUTBOX_*  optional: BalanceChanged notifications through the outbox (loadNotify)
//	AWS_LAMBDA_FUNCTION_NAME set by Lambda: the metrics' FunctionName dimension, and whose mappings pause
//
// It returns every invalid variable at once, each a *ConfigError naming it.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		IdempotencyTable: getenv("IDEMPOTENCY_TABLE"),
		LedgerTable:      getenv("LEDGER_TABLE"),
		KeyPrefix:        getenv("IDEMPOTENCY_KEY_PREFIX"),
		PermanentDLQURL:  getenv("PERMANENT_DLQ_URL"),
		PermanentFIFODLQ: getenv("PERMANENT_FIFO_DLQ_URL"),
		FunctionName:     getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = KeyPrefixDefault
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, &ConfigError{Variable: name, Problem: fmt.Sprintf(format, args...)})
	}
	cfg.Store = getenv("IDEMPOTENCY_STORE")
	cfg.RedisURL = getenv("REDIS_URL")
	switch cfg.Store {
	case "", StoreDynamoDB:
		cfg.Store = StoreDynamoDB
		if cfg.IdempotencyTable == "" {
			bad("IDEMPOTENCY_TABLE", "required: the name of the idempotency table")
		}
	case StoreRedis:
		if cfg.RedisURL == "" {
			bad("REDIS_URL", "required with IDEMPOTENCY_STORE=redis: redis://host:port or rediss://user:password@host:port")
		}
		if v := getenv("REDIS_CLUSTER"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad("REDIS_CLUSTER", "%q is not true or false", v)
			}
			cfg.RedisCluster = b
		}
		cfg.RedisWaitTimeout = redisstore.WaitTimeoutDefault
		if v := getenv("REDIS_WAIT_TIMEOUT"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 || d >= redisstore.DialTimeout {
				bad("REDIS_WAIT_TIMEOUT", "%q is not a duration above 0 and under %s (the client's read timeout)", v, redisstore.DialTimeout)
			}
			cfg.RedisWaitTimeout = d
		}
	default:
		bad("IDEMPOTENCY_STORE", "%q is not dynamodb or redis", cfg.Store)
	}
	if cfg.LedgerTable == "" {
		bad("LEDGER_TABLE", "required: the name of the ledger table")
	}
	cfg.TTL = idempotency.TTLDefault
	if v := getenv("IDEMPOTENCY_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		lease := sqsonce.TTLMin
		switch {
		case err != nil:
			bad("IDEMPOTENCY_TTL", "%q is not a duration (e.g. 96h, 90m)", v)
		case d < lease:
			bad("IDEMPOTENCY_TTL", "%s is shorter than the longest lease, %s (Lambda's longest timeout plus the lease margin): a record could expire while its claim is live; use at least %s, and at least the queue's retention period", d, lease, lease)
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
	cfg.CacheSize = intVar("IDEMPOTENCY_CACHE_SIZE", sqsonce.CacheSizeDefault, 0)
	cfg.Concurrency = intVar("CONCURRENCY", dynamostore.TxConcurrencyDefault, 1)
	cfg.BreakAfter = intVar("BREAK_AFTER", sqsonce.BreakAfterDefault, 0)
	if cfg.Store == StoreRedis {
		cfg.RedisWaitReplicas = intVar("REDIS_WAIT_REPLICAS", 0, 0)
	}
	cfg.Layout = dynamostore.Layout{
		KeyAttr:        getenv("IDEMPOTENCY_PARTITION_KEY"),
		SortKeyAttr:    getenv("IDEMPOTENCY_SORT_KEY"),
		ExpirationAttr: getenv("IDEMPOTENCY_TTL_ATTRIBUTE"),
	}
	if getenv("IDEMPOTENCY_SHARDS") != "" {
		if cfg.Layout.SortKeyAttr == "" {
			bad("IDEMPOTENCY_SHARDS", "set, but IDEMPOTENCY_SORT_KEY is not: shards apply to a composite key")
		}
		cfg.Layout.Shards = intVar("IDEMPOTENCY_SHARDS", dynamostore.ShardsDefault, 1)
	}
	var err error
	if cfg.Keys, err = sqskey.Parse(getenv("KEY_SOURCE")); err != nil {
		bad("KEY_SOURCE", "%v", err)
	}
	if v := getenv("PAUSE_ON_STORE_OUTAGE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("PAUSE_ON_STORE_OUTAGE", "%q is not true or false", v)
		}
		cfg.PauseOnStoreOutage = b
	}
	cfg.PauseAfter = sqsonce.PauseAfterDefault
	if v := getenv("PAUSE_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("PAUSE_AFTER", "%q is not a positive duration (e.g. 60s, 2m)", v)
		}
		cfg.PauseAfter = d
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			bad("LOG_LEVEL", "%q is not DEBUG, INFO, WARN or ERROR", v)
		}
	}
	if mode, err := telemetry.ParseMode(getenv("TRACING")); err != nil {
		bad("TRACING", "%s", err.Error())
	} else {
		cfg.Tracing = mode
	}
	cfg.Notify = loadNotify(getenv, cfg.Store, bad)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("consumer configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// ErrInvalidConfig is matched (errors.Is) by every *ConfigError.
var ErrInvalidConfig = errors.New("consumer: invalid configuration")

// ConfigError names the environment variable that is invalid and why.
type ConfigError struct {
	Variable string
	Problem  string
}

func (e *ConfigError) Error() string { return e.Variable + ": " + e.Problem }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }
