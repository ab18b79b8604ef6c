package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/sqsonce/sqsonce/internal/demo"
)

// envFlags collects repeated KEY=VALUE flags.
type envFlags map[string]string

func (e envFlags) String() string { return "" }

func (e envFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	e[k] = v
	return nil
}

func runDemo(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "demo")
	events := fs.Int("events", demo.EventsDefault, "unique valid events to send")
	accounts := fs.Int("accounts", demo.AccountsDefault, "accounts the events are spread over")
	retries := fs.Float64("duplicates", demo.RetryShareDefault, "share of the events (0..1) sent a second time, as a producer's retries: same id, new message")
	invalid := fs.Int("invalid", demo.InvalidDefault, "malformed or invalid bodies to send (they must end in the DLQ)")
	workers := fs.Int("workers", demo.WorkersDefault, "pollers, each with its own Lambda emulator")
	batchSize := fs.Int("batch-size", demo.BatchSizeDefault, "the event source mapping's batch size")
	window := fs.Duration("batching-window", 0, "the event source mapping's maximum batching window")
	visibility := fs.Duration("visibility-timeout", demo.VisibilityTimeoutDefault, "the queue's visibility timeout: how soon a failed record comes back")
	maxReceive := fs.Int("max-receive-count", demo.MaxReceiveCountDefault, "receives before the queue moves a message to its DLQ")
	consumerEnv := envFlags{}
	fs.Var(consumerEnv, "env", "KEY=VALUE for the consumer's environment, e.g. CONCURRENCY=4 (repeatable)")
	seed := fs.Uint64("seed", 0, "seed of the workload (0: random)")
	keep := fs.Bool("keep", false, "keep the queues and tables at the end")
	singleStage := fs.Bool("single-stage", false, "run the first stage alone: no BalanceChanged notifications, outbox, relay or second consumer")
	relayPasses := fs.Int("relay-passes", demo.RelayPassesDefault, "how many times the relay reads the whole outbox stream (from the second on, it resends every notification)")
	functionLog := fs.String("function-log", "", "write the function's output (its JSON log lines) to this file")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long")
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	switch {
	case len(rest) > 0:
		return usageError(c, "demo", "unexpected argument %q", rest[0])
	case *events < 1 || *accounts < 1 || *workers < 1 || *batchSize < 1 || *maxReceive < 1:
		return usageError(c, "demo", "--events, --accounts, --workers, --batch-size and --max-receive-count must be positive")
	case *accounts > *events:
		return usageError(c, "demo", "--accounts %d is more than --events %d", *accounts, *events)
	case *retries < 0 || *retries > 1:
		return usageError(c, "demo", "--duplicates %v is not within 0..1", *retries)
	case *relayPasses < 1:
		return usageError(c, "demo", "--relay-passes must be at least 1")
	case *invalid < 0:
		return usageError(c, "demo", "--invalid must not be negative")
	case *visibility < time.Second:
		return usageError(c, "demo", "--visibility-timeout must be at least 1s")
	}

	opts := demo.Options{
		Env:               awsf.environ(c.env),
		Events:            *events,
		Accounts:          *accounts,
		RetryShare:        *retries,
		NoRetries:         *retries == 0,
		Invalid:           *invalid,
		Seed:              *seed,
		Workers:           *workers,
		BatchSize:         *batchSize,
		BatchingWindow:    *window,
		ConsumerEnv:       consumerEnv,
		VisibilityTimeout: *visibility,
		MaxReceiveCount:   *maxReceive,
		Progress:          c.stderr,
		ProgressWidth:     c.stderrWidth,
		Keep:              *keep,
		SingleStage:       *singleStage,
		RelayPasses:       *relayPasses,
	}
	if *invalid == 0 {
		opts.Invalid = -1
	}
	if len(consumerEnv) == 0 {
		opts.ConsumerEnv = nil
	}
	if *functionLog != "" {
		f, err := os.Create(*functionLog)
		if err != nil {
			return failure(c, "demo", err)
		}
		defer f.Close()
		opts.FunctionOutput = f
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "demo", err)
	}
	opts.SQS, opts.DynamoDB = sess.sqs(), sess.dynamodb()
	opts.Streams = dynamodbstreams.NewFromConfig(sess.cfg, func(o *dynamodbstreams.Options) {
		if sess.endpoint != "" {
			o.BaseEndpoint = aws.String(sess.endpoint)
		}
	})
	rep, err := demo.Run(ctx, opts)
	if err != nil {
		return failure(c, "demo", err)
	}
	fmt.Fprintln(c.stdout)
	if _, err := rep.WriteTo(c.stdout); err != nil {
		return failure(c, "demo", err)
	}
	if !rep.Holds() {
		return exitFailure
	}
	return exitOK
}
