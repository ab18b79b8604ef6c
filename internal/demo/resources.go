package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/mod/modfile"
)

// InitScript is the script that creates sqsonce's resources, relative to the
// module root.
const InitScript = "localstack/init/ready.d/10-sqsonce.sh"

// Resources are the queues and tables of one run, as the init script names
// them after PREFIX.
type Resources struct {
	Prefix           string
	QueueURL         string
	DLQURL           string
	FIFOQueueURL     string
	FIFODLQURL       string
	IdempotencyTable string
	LedgerTable      string
	// The second stage's: the notifications' FIFO queue and DLQ, the outbox
	// table (with its stream), and the second consumer's ledger.
	NotifyQueueURL string
	NotifyDLQURL   string
	OutboxTable    string
	SecondLedger   string
}

func names(prefix string) (queues []string, tables []string) {
	return []string{prefix + "-events", prefix + "-events-dlq", prefix + "-events.fifo", prefix + "-events-dlq.fifo",
			prefix + "-balance-changed.fifo", prefix + "-balance-changed-dlq.fifo"},
		[]string{prefix + "-idempotency", prefix + "-ledger", prefix + "-outbox", prefix + "-ledger-notified"}
}

// randomPrefix returns PrefixBase and a random suffix.
func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return PrefixBase + hex.EncodeToString(b[:])
}

// Module is the module path of a checkout of sqsonce.
const Module = "github.com/sqsonce/sqsonce"

// ErrNotACheckout is returned by Run outside a checkout of sqsonce: the demo
// builds the consumer and runs the init script from its source.
var ErrNotACheckout = errors.New("the demo runs only in a checkout of " + Module +
	" (it builds functions/consumer and runs localstack/init from source): clone it, cd into it and run `make demo`")

// findRoot returns the root of the checkout of sqsonce at or above the
// working directory.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the checkout: %w", err)
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if modfile.ModulePath(mod) != Module {
				return "", fmt.Errorf("%w; %s is module %q", ErrNotACheckout, dir, modfile.ModulePath(mod))
			}
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotACheckout
		}
		dir = parent
	}
}

// withEnv returns env with each of set's KEY=value replacing any earlier
// value of KEY.
func withEnv(env []string, set ...string) []string {
	drop := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// createResources runs the init script with PREFIX, MAX_RECEIVE_COUNT and
// VISIBILITY_TIMEOUT, and reads the queue URLs.
func createResources(ctx context.Context, o Options) (Resources, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(o.Root, InitScript))
	cmd.Dir = o.Root
	cmd.Env = withEnv(o.Env, "PREFIX="+o.Prefix, "MAX_RECEIVE_COUNT="+strconv.Itoa(o.MaxReceiveCount),
		"VISIBILITY_TIMEOUT="+strconv.Itoa(int(o.VisibilityTimeout.Seconds())))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Resources{}, fmt.Errorf("run %s with PREFIX=%s: %w\n%s", InitScript, o.Prefix, err, out.String())
	}
	queues, tables := names(o.Prefix)
	r := Resources{Prefix: o.Prefix, IdempotencyTable: tables[0], LedgerTable: tables[1], OutboxTable: tables[2], SecondLedger: tables[3]}
	if err := o.createSecondLedger(ctx, r.SecondLedger); err != nil {
		return r, err
	}
	for i, dst := range []*string{&r.QueueURL, &r.DLQURL, &r.FIFOQueueURL, &r.FIFODLQURL, &r.NotifyQueueURL, &r.NotifyDLQURL} {
		got, err := o.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queues[i])})
		if err != nil {
			return r, fmt.Errorf("queue %s after %s: %w", queues[i], InitScript, err)
		}
		*dst = aws.ToString(got.QueueUrl)
	}
	return r, nil
}

// deleteResources deletes the queues and tables named after prefix, those
// that exist, and returns the errors of the others joined.
func deleteResources(ctx context.Context, o Options, prefix string) error {
	queues, tables := names(prefix)
	var errs []error
	for _, q := range queues {
		got, err := o.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q)})
		var missing *types.QueueDoesNotExist
		if errors.As(err, &missing) {
			continue
		}
		if err == nil {
			_, err = o.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: got.QueueUrl})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", q, err))
		}
	}
	for _, tbl := range tables {
		_, err := o.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tbl)})
		var missing *dbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &missing) {
			errs = append(errs, fmt.Errorf("delete table %s: %w", tbl, err))
		}
	}
	return errors.Join(errs...)
}
