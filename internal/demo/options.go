package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/internal/local/esm"
)

// Defaults of Options fields left at their zero value.
const (
	EventsDefault            = 300
	AccountsDefault          = 5
	RetryShareDefault        = 0.2
	InvalidDefault           = 5
	WorkersDefault           = 2
	BatchSizeDefault         = 10
	VisibilityTimeoutDefault = 5 * time.Second
	MaxReceiveCountDefault   = 2
	FunctionTimeoutDefault   = 30 * time.Second
	DrainIdleDefault         = time.Second
	// RelayPassesDefault: the relay reads the outbox's stream twice, the
	// second time sending every notification again (as a relay that died
	// before marking its items sent would), which the second consumer drops
	// by their event IDs.
	RelayPassesDefault = 2
	PrefixBase         = "sqsonce-demo-"
)

// SQSClient is the part of the SQS API a demo calls: the producer's, the
// mapping's, and what it needs to find and delete its queues.
// *sqs.Client satisfies it.
type SQSClient interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	DeleteQueue(ctx context.Context, in *sqs.DeleteQueueInput, optFns ...func(*sqs.Options)) (*sqs.DeleteQueueOutput, error)
}

// DynamoDBClient is the part of the DynamoDB API a demo calls: the ledger
// scan and deleting its tables. *dynamodb.Client satisfies it.
type DynamoDBClient interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
}

// Options configures Run.
type Options struct {
	// SQS and DynamoDB talk to the endpoints the resources are created on.
	// Required.
	SQS      SQSClient
	DynamoDB DynamoDBClient
	// Streams reads the outbox table's stream for the relay (the second
	// stage). Required unless SingleStage.
	Streams esm.StreamsClient
	// SingleStage runs the first stage alone: no notifications, no outbox,
	// no relay, no second consumer. Default false: the demo runs both.
	SingleStage bool
	// RelayPasses is how many times the relay reads the whole outbox stream.
	// Default RelayPassesDefault.
	RelayPasses int

	// Env is the environment of the init script, of `go build` and of the
	// emulators (and so of the function): it must carry the endpoints
	// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB),
	// credentials, region and PATH, as the SDK clients above see them.
	// Required; main passes os.Environ().
	Env []string

	// Root is the module root (holding go.mod, functions/consumer and
	// localstack/). Default: the nearest directory at or above the working
	// directory with a go.mod.
	Root string

	// Prefix names the resources (the init script's PREFIX). Default
	// PrefixBase followed by a random suffix, so runs never share state.
	Prefix string

	// Events is the number of unique valid events. Default EventsDefault (300).
	Events int
	// Accounts spreads the events over this many accounts. Default
	// AccountsDefault (5).
	Accounts int
	// RetryShare is the share of the events sent a second time as producer
	// retries (same event id, a new message), 0..1. Default
	// RetryShareDefault (0.2); set NoRetries for none.
	RetryShare float64
	// NoRetries sends no producer retries, whatever RetryShare says.
	NoRetries bool
	// Invalid is the number of malformed or invalid bodies. Default
	// InvalidDefault (5); set a negative value for none.
	Invalid int
	// Seed makes the workload reproducible. Default 0: random.
	Seed uint64

	// Workers is the number of pollers, each with its own emulator. Default
	// WorkersDefault (2).
	Workers int
	// BatchSize and BatchingWindow are the mapping's batch size and
	// maximum batching window. Default BatchSizeDefault (10) and 0.
	BatchSize      int
	BatchingWindow time.Duration
	// ConsumerEnv overrides the function's settings (CONCURRENCY,
	// KEY_SOURCE, LOG_LEVEL...); see consumer.LoadConfig. The tables are
	// set by Run. LOG_LEVEL above INFO hides the lines the report counts.
	ConsumerEnv map[string]string
	// FunctionTimeout is the function's timeout. Default
	// FunctionTimeoutDefault (30s).
	FunctionTimeout time.Duration

	// VisibilityTimeout replaces the queue's (whole seconds): a record the
	// function reports failed comes back after it. Default
	// VisibilityTimeoutDefault (5s).
	VisibilityTimeout time.Duration
	// MaxReceiveCount is the redrive policy's (the init script's
	// MAX_RECEIVE_COUNT): an invalid body reaches the DLQ after this many
	// receives. Default MaxReceiveCountDefault (2).
	MaxReceiveCount int
	// DrainIdle is how long the queue must stay empty to count as drained.
	// Default DrainIdleDefault (1s).
	DrainIdle time.Duration

	// Progress receives what Run is doing and a progress bar. Default:
	// discarded.
	Progress io.Writer
	// ProgressWidth is the width of the terminal Progress is (see
	// progress.Width): the bar is redrawn in place, cut to it. 0 (not a
	// terminal): the bar is written as plain lines, one a second.
	ProgressWidth int
	// FunctionOutput receives a copy of the emulators' output (the
	// function's log lines). Default: discarded.
	FunctionOutput io.Writer
	// EmulatorPath is the aws-lambda-rie binary. Default: rie.FindEmulator.
	EmulatorPath string
	// Keep leaves the queues and tables in place at the end.
	Keep bool
}

// WithDefaults returns a copy of o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Events == 0 {
		o.Events = EventsDefault
	}
	if o.Accounts == 0 {
		o.Accounts = AccountsDefault
	}
	switch {
	case o.NoRetries:
		o.RetryShare = 0
	case o.RetryShare == 0:
		o.RetryShare = RetryShareDefault
	}
	switch {
	case o.Invalid == 0:
		o.Invalid = InvalidDefault
	case o.Invalid < 0:
		o.Invalid = 0
	}
	if o.Workers == 0 {
		o.Workers = WorkersDefault
	}
	if o.BatchSize == 0 {
		o.BatchSize = BatchSizeDefault
	}
	if o.FunctionTimeout == 0 {
		o.FunctionTimeout = FunctionTimeoutDefault
	}
	if o.VisibilityTimeout == 0 {
		o.VisibilityTimeout = VisibilityTimeoutDefault
	}
	if o.MaxReceiveCount == 0 {
		o.MaxReceiveCount = MaxReceiveCountDefault
	}
	if o.DrainIdle == 0 {
		o.DrainIdle = DrainIdleDefault
	}
	if o.RelayPasses == 0 {
		o.RelayPasses = RelayPassesDefault
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.FunctionOutput == nil {
		o.FunctionOutput = io.Discard
	}
	return o
}

// ErrInvalidOptions is wrapped by every validation error from Run.
var ErrInvalidOptions = errors.New("invalid demo options")

func (o Options) validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.SQS == nil:
		return fail("SQS is required")
	case o.DynamoDB == nil:
		return fail("DynamoDB is required")
	case len(o.Env) == 0:
		return fail("Env is required (the endpoints, credentials and PATH)")
	case o.Events < 1:
		return fail("Events %d is below 1", o.Events)
	case o.Accounts < 1 || o.Accounts > o.Events:
		return fail("Accounts %d is not within 1..Events (%d)", o.Accounts, o.Events)
	case o.RetryShare < 0 || o.RetryShare > 1:
		return fail("RetryShare %v is not within 0..1", o.RetryShare)
	case o.Workers < 1:
		return fail("Workers %d is below 1", o.Workers)
	case o.BatchSize < 1:
		return fail("BatchSize %d is below 1", o.BatchSize)
	case o.VisibilityTimeout < time.Second || o.VisibilityTimeout > 12*time.Hour:
		return fail("VisibilityTimeout %v is not within 1s..12h", o.VisibilityTimeout)
	case o.MaxReceiveCount < 1 || o.MaxReceiveCount > 1000:
		return fail("MaxReceiveCount %d is not within 1..1000", o.MaxReceiveCount)
	case o.FunctionTimeout < time.Second:
		return fail("FunctionTimeout %v is below 1s", o.FunctionTimeout)
	case !o.SingleStage && o.Streams == nil:
		return fail("Streams is required for the second stage (or set SingleStage)")
	case o.RelayPasses < 1:
		return fail("RelayPasses %d is below 1", o.RelayPasses)
	}
	for k := range o.ConsumerEnv {
		if k == "IDEMPOTENCY_TABLE" || k == "LEDGER_TABLE" {
			return fail("ConsumerEnv may not set %s: Run sets it to the demo's table", k)
		}
	}
	return nil
}
