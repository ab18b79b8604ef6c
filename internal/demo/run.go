package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/ledgerscan"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// Run runs the demo (see the package documentation) and returns its report.
// An error means the demo could not run to the end (resources, build,
// emulators, sending, draining); a run that ends with violated invariants
// returns a nil error and a Report whose Holds is false. The resources are
// deleted even when Run fails, unless Options.Keep.
func Run(ctx context.Context, opts Options) (rep Report, err error) {
	o := opts.WithDefaults()
	if err := o.validate(); err != nil {
		return Report{}, err
	}
	o.FunctionOutput = &lockedWriter{w: o.FunctionOutput} // the stages' functions write to it at once
	if o.Root == "" {
		if o.Root, err = findRoot(); err != nil {
			return Report{}, err
		}
	}
	if o.Prefix == "" {
		o.Prefix = randomPrefix()
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	started := time.Now()
	p := newStages(o.Progress, o.ProgressWidth)
	defer p.done()

	p.stage("creating queues and tables with %s (PREFIX=%s, MAX_RECEIVE_COUNT=%d)", InitScript, o.Prefix, o.MaxReceiveCount)
	defer func() {
		if o.Keep {
			p.stage("kept the resources of PREFIX=%s", o.Prefix)
			return
		}
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := deleteResources(cleanup, o, o.Prefix); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	res, err := createResources(ctx, o)
	if err != nil {
		return Report{}, err
	}

	p.stage("building %s", ConsumerPackage)
	dir, err := os.MkdirTemp("", "sqsonce-demo-")
	if err != nil {
		return Report{}, fmt.Errorf("temporary directory for the bootstrap: %w", err)
	}
	defer os.RemoveAll(dir)
	bootstrap, err := build(ctx, o, dir, ConsumerPackage, "consumer")
	if err != nil {
		return Report{}, err
	}

	p.stage("starting %d emulators (aws-lambda-rie)", o.Workers)
	outcomes := newOutcomeLog(o.FunctionOutput)
	tr, err := startTracing()
	if err != nil {
		return Report{}, err
	}
	defer tr.close()
	o.Env = withEnv(o.Env, tr.env()...)
	invokers, stop, err := startEmulators(ctx, o, res, bootstrap, outcomes)
	defer stop()
	if err != nil {
		return Report{}, err
	}

	w := NewWorkload(WorkloadConfig{Events: o.Events, Accounts: o.Accounts, RetryShare: o.RetryShare, Invalid: o.Invalid, Seed: seed})
	rep = Report{
		Prefix: o.Prefix, Workers: o.Workers, ConsumerEnv: o.ConsumerEnv,
		UniqueEvents: len(w.Events), Retries: w.Retries, Invalid: w.Invalid,
	}
	p.stage("sending %d messages (%d events, %d producer retries, %d invalid)", len(w.Messages), len(w.Events), w.Retries, w.Invalid)
	pub, err := producer.New(producer.Config{Client: o.SQS, QueueURL: res.QueueURL, Tracing: tr.producer()})
	if err != nil {
		return rep, err
	}
	sent, err := pub.Send(ctx, w.Messages)
	rep.Sent, rep.SendRetried, rep.Unsent = sent.Sent, sent.Retried, len(sent.Failures)
	if err != nil {
		return rep, fmt.Errorf("send the workload: %w", err)
	}

	p.stage("consuming until the queue is drained (batch size %d, visibility timeout %v)", o.BatchSize, o.VisibilityTimeout)
	m, err := esm.New(esm.Config{
		QueueURL:              res.QueueURL,
		Client:                o.SQS,
		Invokers:              invokers,
		BatchSize:             o.BatchSize,
		MaximumBatchingWindow: o.BatchingWindow,
	})
	if err != nil {
		return rep, err
	}
	drainErr := runWithProgress(ctx, o, m, p, res.DLQURL, len(w.Messages))
	rep.Mapping, rep.Outcomes = m.Stats(), outcomes.Outcomes()
	if drainErr != nil {
		return rep, fmt.Errorf("consume %s: %w", res.QueueURL, drainErr)
	}

	p.stage("reading the DLQ and the ledger")
	if rep.DLQ, err = depth(ctx, o.SQS, res.DLQURL); err != nil {
		return rep, err
	}
	snap, err := ledgerscan.Snapshot(ctx, o.DynamoDB, res.LedgerTable)
	if err != nil {
		return rep, err
	}
	rep.Accounts, rep.LedgerEntries = compare(w, snap)
	rep.Trace = tr.oneEvent()
	if !o.SingleStage {
		rep.Stage2, err = runStage2(ctx, o, res, w, bootstrap, dir, p)
		if err != nil {
			return rep, fmt.Errorf("the second stage: %w", err)
		}
	}
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// startEmulators starts one emulator per worker, running bootstrap with the
// consumer's environment. stop stops those started, also on error.
func startEmulators(ctx context.Context, o Options, res Resources, bootstrap string, log *outcomeLog) ([]esm.Invoker, func(), error) {
	set := []string{"IDEMPOTENCY_TABLE=" + res.IdempotencyTable, "LEDGER_TABLE=" + res.LedgerTable}
	if !o.SingleStage { // BalanceChanged notifications through the outbox
		set = append(set, "NOTIFY_QUEUE_URL="+res.NotifyQueueURL, "OUTBOX_TABLE="+res.OutboxTable)
	}
	keys := make([]string, 0, len(o.ConsumerEnv))
	for k := range o.ConsumerEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set = append(set, k+"="+o.ConsumerEnv[k])
	}
	env := withEnv(o.Env, set...)
	var ems []*rie.Emulator
	stop := func() {
		for _, em := range ems {
			_ = em.Stop()
		}
	}
	invokers := make([]esm.Invoker, 0, o.Workers)
	for range o.Workers {
		em, err := rie.Start(ctx, rie.Config{
			Bootstrap:       bootstrap,
			EmulatorPath:    o.EmulatorPath,
			Env:             env,
			FunctionTimeout: o.FunctionTimeout,
			Output:          log.writer(),
		})
		if err != nil {
			return nil, stop, fmt.Errorf("start the emulator: %w", err)
		}
		ems = append(ems, em)
		invokers = append(invokers, em)
	}
	return invokers, stop, nil
}

// runWithProgress runs the mapping until the queue is drained, drawing the
// messages settled (deleted, or in the DLQ) out of total.
func runWithProgress(ctx context.Context, o Options, m *esm.Mapping, p *stages, dlqURL string, total int) error {
	done := make(chan error, 1)
	go func() { done <- m.RunUntilDrained(ctx, o.DrainIdle) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	inDLQ := 0
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
		if n, err := depth(ctx, o.SQS, dlqURL); err == nil {
			inDLQ = n
		}
		st := m.Stats()
		p.bar(int(st.Deleted)+inDLQ, total, fmt.Sprintf("settled: %d deleted, %d in the DLQ, %d invocations, %d retried",
			st.Deleted, inDLQ, st.Batches, st.ReportedFailed))
	}
}

// depth is a queue's visible and in-flight messages.
func depth(ctx context.Context, client SQSClient, url string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("count the messages of %s: %w", url, err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("count the messages of %s: %q is not a number", url, v)
		}
		n += c
	}
	return n, nil
}

// compare puts the ledger beside the workload's expectations: every account
// expected or found, in order, and the number of entry items.
func compare(w Workload, snap map[string]*ledgerscan.Account) ([]AccountReport, int) {
	names := map[string]bool{}
	for a := range w.Expected {
		names[a] = true
	}
	for a := range snap {
		names[a] = true
	}
	sorted := make([]string, 0, len(names))
	for a := range names {
		sorted = append(sorted, a)
	}
	sort.Strings(sorted)
	var out []AccountReport
	entries := 0
	for _, a := range sorted {
		exp := w.Expected[a]
		r := AccountReport{Account: a, Expected: exp.Balance, Events: exp.Entries}
		if got := snap[a]; got != nil {
			r.Balance, r.Sum, r.Entries, r.Counted = got.Balance, got.Sum, len(got.Entries), got.Counted
		}
		entries += r.Entries
		out = append(out, r)
	}
	return out, entries
}
