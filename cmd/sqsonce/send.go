package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/sqsonce/sqsonce/internal/demo"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// sendChunk is how many messages one progress step sends.
const sendChunk = 100

func runSend(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "send")
	var stack stackFlags
	stack.register(fs, true)
	queueURL := fs.String("queue-url", "", "the queue to publish to (or --stack-name)")
	file := fs.String("file", "", "a JSON-lines file of ledger events, one per line; - reads stdin")
	count := fs.Int("count", 0, "generate this many events instead of reading a file")
	accounts := fs.Int("accounts", demo.AccountsDefault, "with --count: spread the events over this many accounts")
	invalid := fs.Int("invalid", 0, "with --count: also send this many invalid bodies")
	duplicates := fs.Float64("duplicates", 0, "share of the events (0..1) sent a second time, as a producer's retries: same id, new message")
	seed := fs.Uint64("seed", 0, "seed of the generated events and of the duplicates chosen (0: random)")
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	switch {
	case len(rest) > 0:
		return usageError(c, "send", "unexpected argument %q", rest[0])
	case *queueURL == "" && stack.name == "":
		return usageError(c, "send", "give --queue-url or --stack-name")
	case (*file == "") == (*count == 0):
		return usageError(c, "send", "give exactly one of --file and --count")
	case *count < 0 || *accounts < 1 || *invalid < 0:
		return usageError(c, "send", "--count, --accounts and --invalid must be positive")
	case *duplicates < 0 || *duplicates > 1:
		return usageError(c, "send", "--duplicates %v is not within 0..1", *duplicates)
	case *file != "" && *invalid > 0:
		return usageError(c, "send", "--invalid goes with --count")
	case checkQueueURL("queue-url", *queueURL) != "":
		return usageError(c, "send", "%s", checkQueueURL("queue-url", *queueURL))
	}
	if *seed == 0 {
		*seed = rand.Uint64()
	}

	var msgs []producer.Message
	events, retries, bad := 0, 0, 0
	if *count > 0 {
		w := demo.NewWorkload(demo.WorkloadConfig{Events: *count, Accounts: *accounts, RetryShare: *duplicates, Invalid: *invalid, Seed: *seed})
		msgs, events, retries, bad = w.Messages, len(w.Events), w.Retries, w.Invalid
	} else {
		in, err := readEvents(c, *file)
		if err != nil {
			return failure(c, "send", err)
		}
		msgs, retries = withDuplicates(in, *duplicates, *seed)
		events = len(in)
	}

	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "send", err)
	}
	if err := stack.fill(ctx, sess, map[string]*string{outputQueue: queueURL}); err != nil {
		return failure(c, "send", err)
	}
	pub, err := producer.New(producer.Config{Client: sess.sqs(), QueueURL: *queueURL})
	if err != nil {
		return failure(c, "send", err)
	}
	sent, unsent := 0, 0
	line := c.progress()
	for start := 0; start < len(msgs) && ctx.Err() == nil; start += sendChunk {
		end := min(start+sendChunk, len(msgs))
		rep, _ := pub.Send(ctx, msgs[start:end]) // ErrNotAllSent: rep lists each failure
		sent += rep.Sent
		unsent += len(rep.Failures)
		for _, f := range rep.Failures {
			if ctx.Err() != nil {
				break // interrupted: the count below says how many were not sent
			}
			line.Println("sqsonce send: message %d not sent: %s %s", start+f.Index+1, f.Code, f.Message)
		}
		line.Set("send: sent %d/%d", sent, len(msgs))
	}
	line.Done()
	if sent == 0 && len(msgs) > 0 {
		// Nothing done, nothing to report on stdout.
		return failure(c, "send", fmt.Errorf("sent none of %d messages to %s (the reasons are above)", len(msgs), *queueURL))
	}
	fmt.Fprintf(c.stdout, "sent %d messages to %s: %d events, %d duplicates, %d invalid\n", sent, *queueURL, events, retries, bad)
	if unsent > 0 || sent != len(msgs) {
		fmt.Fprintf(c.stdout, "not sent: %d\n", len(msgs)-sent)
		return exitFailure
	}
	return exitOK
}

// readEvents reads a JSON-lines file of ledger events (blank lines are
// skipped). Every line must be a valid event: nothing is sent otherwise.
func readEvents(c cli, name string) ([]ledger.Event, error) {
	var r io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		defer f.Close()
		r = f
	}
	var events []ledger.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), ledger.MaxEventBytes+1)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		e, err := ledger.Decode([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, line, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%s holds no events", name)
	}
	return events, nil
}

// withDuplicates returns the events' messages followed by a second message
// for a share of them, chosen at random.
func withDuplicates(events []ledger.Event, share float64, seed uint64) ([]producer.Message, int) {
	msgs := make([]producer.Message, 0, len(events))
	for _, e := range events {
		msgs = append(msgs, ledger.EventMessage(e))
	}
	n := int(math.Round(share * float64(len(events))))
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for _, i := range rng.Perm(len(events))[:n] {
		msgs = append(msgs, ledger.EventMessage(events[i]))
	}
	return msgs, n
}
