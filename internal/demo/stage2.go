package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/ledgerscan"
	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// RelayPackage is the outbox relay function's package, relative to the
// module root.
const RelayPackage = "./functions/relay"

// The second stage's settings: the stage-1 consumer publishes a
// BalanceChanged notification of each event it applies (NOTIFY_QUEUE_URL)
// through the outbox; the relay sends them to the notifications' FIFO
// queue; the same consumer, as a second function, applies them to a second
// ledger, keyed by the outbox's stable event IDs.
const (
	// Stage2KeyPrefix is the second consumer's IDEMPOTENCY_KEY_PREFIX.
	Stage2KeyPrefix = "notifications"
	// Stage2KeySource is its KEY_SOURCE: the relay's event ID attribute.
	Stage2KeySource = "attribute:" + outbox.AttrEventID
)

// Stage2Report is what the outbox, the relay and the second consumer did.
type Stage2Report struct {
	// Outbox sums the outbox table up at the end.
	Outbox outbox.Summary
	// OutboxItems is the number of items in the outbox (one per applied event).
	OutboxItems int
	// Relay is the stream mapping's counters (the relay's invocations).
	Relay esm.StreamStats
	// RelayPasses is how many times the relay read the whole stream: from
	// the second on, it sends every event again, as a relay that died
	// before marking its items sent would.
	RelayPasses int
	// Mapping and Outcomes are the second consumer's, as in Report.
	Mapping  esm.Stats
	Outcomes Outcomes
	// DLQ is the notifications' DLQ depth at the end.
	DLQ int
	// LedgerEntries and Accounts are the second ledger's.
	LedgerEntries int
	Accounts      []AccountReport
}

// violations lists the second stage's broken invariants: one notification
// per unique valid event, each sent, each applied once to the second
// ledger, whose balances equal the producer's sums.
func (s *Stage2Report) violations(unique int) []string {
	var v []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			v = append(v, "stage 2: "+fmt.Sprintf(format, args...))
		}
	}
	check(s.OutboxItems == unique, "outbox items: %d, want %d (one per unique valid event)", s.OutboxItems, unique)
	check(s.Outbox.Pending == 0 && len(s.Outbox.Failed) == 0, "outbox: %d pending, %d failed, want all sent", s.Outbox.Pending, len(s.Outbox.Failed))
	check(s.LedgerEntries == unique, "second ledger entries: %d, want %d", s.LedgerEntries, unique)
	check(s.Outcomes.Executed == unique, "executed: %d, want %d (one per notification)", s.Outcomes.Executed, unique)
	check(s.DLQ == 0, "notifications' DLQ depth: %d, want 0", s.DLQ)
	for _, a := range s.Accounts {
		check(a.Balance == a.Expected && a.Sum == a.Expected && a.Entries == a.Events,
			"%s: balance %d over %d entries, want %d over %d", a.Account, a.Balance, a.Entries, a.Expected, a.Events)
	}
	return v
}

// runStage2 relays the outbox to the notifications' queue (RelayPasses
// times over the whole stream) and runs the second consumer until that
// queue is drained, then reads what happened.
func runStage2(ctx context.Context, o Options, res Resources, w Workload, consumerBootstrap, dir string, p *stages) (*Stage2Report, error) {
	s := &Stage2Report{RelayPasses: o.RelayPasses}
	p.stage("building %s", RelayPackage)
	relayBootstrap, err := build(ctx, o, dir, RelayPackage, "relay")
	if err != nil {
		return s, err
	}
	streamARN, err := o.streamARN(ctx, res.OutboxTable)
	if err != nil {
		return s, err
	}
	relayLog := newOutcomeLog(o.FunctionOutput)
	relay, err := rie.Start(ctx, rie.Config{Bootstrap: relayBootstrap, EmulatorPath: o.EmulatorPath, FunctionTimeout: o.FunctionTimeout,
		Env: withEnv(o.Env, "OUTBOX_TABLE="+res.OutboxTable), Output: relayLog.writer()})
	if err != nil {
		return s, fmt.Errorf("start the relay's emulator: %w", err)
	}
	defer func() { _ = relay.Stop() }()
	table := outbox.Table{Name: res.OutboxTable}
	for pass := range o.RelayPasses {
		p.stage("relaying the outbox's stream to %s (pass %d of %d)", res.NotifyQueueURL, pass+1, o.RelayPasses)
		m, err := esm.NewStream(esm.StreamConfig{StreamARN: streamARN, Client: o.Streams, Invoker: relay,
			PollInterval: 50 * time.Millisecond})
		if err != nil {
			return s, err
		}
		if err := relayAll(ctx, o, m, table, len(w.Events)); err != nil {
			return s, err
		}
		st := m.Stats()
		s.Relay.Invocations += st.Invocations
		s.Relay.Records += st.Records
		s.Relay.Retried += st.Retried
		if pass == 0 {
			if err := consumeNotifications(ctx, o, res, consumerBootstrap, s, p); err != nil {
				return s, err
			}
		}
	}
	if o.RelayPasses > 1 {
		if err := consumeNotifications(ctx, o, res, consumerBootstrap, s, p); err != nil {
			return s, err
		}
	}

	p.stage("reading the outbox, the notifications' DLQ and the second ledger")
	var all []outbox.Item
	if s.Outbox, all, err = outbox.Inspect(ctx, o.DynamoDB, table); err != nil {
		return s, err
	}
	s.OutboxItems = len(all)
	if s.DLQ, err = depth(ctx, o.SQS, res.NotifyDLQURL); err != nil {
		return s, err
	}
	snap, err := ledgerscan.Snapshot(ctx, o.DynamoDB, res.SecondLedger)
	if err != nil {
		return s, err
	}
	s.Accounts, s.LedgerEntries = compare(w, snap)
	return s, nil
}

// relayAll runs the stream mapping until it has handed over every record
// of the stream (one per item inserted, one per item marked sent) and no
// item is pending.
func relayAll(ctx context.Context, o Options, m *esm.StreamMapping, table outbox.Table, items int) error {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		s, _, err := outbox.Inspect(ctx, o.DynamoDB, table)
		if err != nil {
			return err
		}
		if m.Stats().Records >= int64(2*items) && s.Pending == 0 {
			return nil
		}
	}
}

// consumeNotifications runs the second consumer on the notifications'
// queue until it is drained, adding to s's counters.
func consumeNotifications(ctx context.Context, o Options, res Resources, bootstrap string, s *Stage2Report, p *stages) error {
	p.stage("consuming the notifications (the second consumer, keyed by %s)", Stage2KeySource)
	log := newOutcomeLog(o.FunctionOutput)
	env := withEnv(o.Env, "IDEMPOTENCY_TABLE="+res.IdempotencyTable, "LEDGER_TABLE="+res.SecondLedger,
		"IDEMPOTENCY_KEY_PREFIX="+Stage2KeyPrefix, "KEY_SOURCE="+Stage2KeySource)
	// One worker: a FIFO queue's groups stay in order with one poller.
	em, err := rie.Start(ctx, rie.Config{Bootstrap: bootstrap, EmulatorPath: o.EmulatorPath, Env: env,
		FunctionTimeout: o.FunctionTimeout, Output: log.writer()})
	if err != nil {
		return fmt.Errorf("start the second consumer's emulator: %w", err)
	}
	defer func() { _ = em.Stop() }()
	m, err := esm.New(esm.Config{QueueURL: res.NotifyQueueURL, Client: o.SQS, Invokers: []esm.Invoker{em}, BatchSize: o.BatchSize})
	if err != nil {
		return err
	}
	if err := m.RunUntilDrained(ctx, o.DrainIdle); err != nil {
		return fmt.Errorf("consume %s: %w", res.NotifyQueueURL, err)
	}
	st, out := m.Stats(), log.Outcomes()
	s.Mapping.Received += st.Received
	s.Mapping.Batches += st.Batches
	s.Mapping.BatchFailures += st.BatchFailures
	s.Mapping.ReportedFailed += st.ReportedFailed
	s.Mapping.Deleted += st.Deleted
	s.Outcomes.Executed += out.Executed
	s.Outcomes.Replayed += out.Replayed
	s.Outcomes.AlreadyApplied += out.AlreadyApplied
	return nil
}

// streamARN is the table's latest stream.
func (o Options) streamARN(ctx context.Context, table string) (string, error) {
	out, err := o.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return "", fmt.Errorf("table %s has no stream", table)
	}
	return aws.ToString(out.Table.LatestStreamArn), nil
}

// createSecondLedger creates the second consumer's ledger table (the
// ledger's layout), which the init script does not.
func (o Options) createSecondLedger(ctx context.Context, name string) error {
	db := o.DynamoDB
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{
			{AttributeName: aws.String("account"), AttributeType: dbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("entry"), AttributeType: dbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dbtypes.KeySchemaElement{
			{AttributeName: aws.String("account"), KeyType: dbtypes.KeyTypeHash},
			{AttributeName: aws.String("entry"), KeyType: dbtypes.KeyTypeRange},
		},
	})
	if inUse := (*dbtypes.ResourceInUseException)(nil); err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute)
}

// write writes the second stage's figures and its accounts.
func (s *Stage2Report) write(b *strings.Builder, unique int) {
	b.WriteString("stage 2: BalanceChanged notifications through the outbox\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "outbox items\t%d (one per applied event: %d), %d pending, %d failed, %d sent\n",
		s.OutboxItems, unique, s.Outbox.Pending, len(s.Outbox.Failed), s.Outbox.Sent)
	fmt.Fprintf(tw, "relay\t%d stream records in %d invocations over %d passes (%d batches retried)\n",
		s.Relay.Records, s.Relay.Invocations, s.RelayPasses, s.Relay.Retried)
	fmt.Fprintf(tw, "notifications delivered\t%d records in %d invocations (%d whole-batch failures)\n", s.Mapping.Received, s.Mapping.Batches, s.Mapping.BatchFailures)
	fmt.Fprintf(tw, "executed\t%d\n", s.Outcomes.Executed)
	fmt.Fprintf(tw, "replayed\t%d (the relay's resends, dropped by their event IDs)\n", s.Outcomes.Replayed+s.Outcomes.AlreadyApplied)
	fmt.Fprintf(tw, "in the DLQ\t%d\n", s.DLQ)
	fmt.Fprintf(tw, "second ledger entries\t%d (unique valid events: %d)\n", s.LedgerEntries, unique)
	_ = tw.Flush()
	wrong := 0
	for _, a := range s.Accounts {
		if a.Balance != a.Expected || a.Entries != a.Events {
			wrong++
		}
	}
	fmt.Fprintf(b, "second ledger: %d accounts, %d with a balance other than the producer's sum\n\n", len(s.Accounts), wrong)
}

// lockedWriter serializes the writes of several outcome logs (the first
// consumer's, the relay's, the second consumer's) to one FunctionOutput.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
