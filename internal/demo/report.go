package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sqsonce/sqsonce/internal/local/esm"
)

// Report is what a run did and what the stores hold at its end.
type Report struct {
	Prefix  string
	Workers int
	// ConsumerEnv is the function's settings that differ from its defaults.
	ConsumerEnv map[string]string

	// What the producer sent.
	UniqueEvents int // unique valid events
	Retries      int // producer retries: messages repeating an event id
	Invalid      int // invalid bodies
	Sent         int // messages SQS accepted
	SendRetried  int // entries the producer offered again after a refusal
	Unsent       int // messages SQS never accepted

	// Mapping is the local event source mapping's counters.
	Mapping esm.Stats
	// Outcomes are the function's own log lines, counted.
	Outcomes Outcomes

	// DLQ is the dead-letter queue's depth at the end.
	DLQ int
	// LedgerEntries is the number of entry items in the ledger table.
	LedgerEntries int
	// Accounts compares each account's balance with the producer's sum.
	Accounts []AccountReport

	// Stage2 is the second stage's (nil with Options.SingleStage).
	Stage2 *Stage2Report

	Elapsed time.Duration
	// Trace is the trace of one event the consumer executed, drawn as a
	// tree: the producer's span, the record's, its ledger transaction.
	Trace string
}

// AccountReport is one account at the end of a run.
type AccountReport struct {
	Account  string
	Expected int64 // the sum of its unique valid events' amounts
	Balance  int64 // the balance item
	Sum      int64 // the sum of its entry items
	Events   int   // its unique valid events
	Entries  int   // its entry items
	Counted  int64 // the balance item's entry count
}

// Holds reports whether every invariant held.
func (r Report) Holds() bool { return len(r.Violations()) == 0 }

// Violations lists every invariant that did not hold, in words.
func (r Report) Violations() []string {
	var v []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			v = append(v, fmt.Sprintf(format, args...))
		}
	}
	want := r.UniqueEvents + r.Retries + r.Invalid
	check(r.Unsent == 0 && r.Sent == want, "messages sent: %d of %d (%d never accepted)", r.Sent, want, r.Unsent)
	check(r.LedgerEntries == r.UniqueEvents, "ledger entries: %d, want %d (the unique valid events)", r.LedgerEntries, r.UniqueEvents)
	check(r.Outcomes.Executed == r.UniqueEvents, "executed: %d, want %d (the unique valid events)", r.Outcomes.Executed, r.UniqueEvents)
	dup := r.Outcomes.Replayed + r.Outcomes.AlreadyApplied
	check(dup >= r.Retries, "replayed + already-applied: %d, want at least %d (the producer retries)", dup, r.Retries)
	check(r.DLQ == r.Invalid, "DLQ depth: %d, want %d (the invalid bodies)", r.DLQ, r.Invalid)
	for _, a := range r.Accounts {
		check(a.Balance == a.Expected && a.Sum == a.Expected,
			"%s: balance %d, entries sum to %d, want %d", a.Account, a.Balance, a.Sum, a.Expected)
		check(a.Entries == a.Events && a.Counted == int64(a.Events),
			"%s: %d entries, balance counts %d, want %d", a.Account, a.Entries, a.Counted, a.Events)
	}
	if r.Stage2 != nil {
		v = append(v, r.Stage2.violations(r.UniqueEvents)...)
	}
	return v
}

// WriteTo writes the report for people: the figures, each account, and
// either "exactly once: held" or the violations.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	settings := "consumer defaults"
	if len(r.ConsumerEnv) > 0 {
		keys := make([]string, 0, len(r.ConsumerEnv))
		for k := range r.ConsumerEnv {
			keys = append(keys, k+"="+r.ConsumerEnv[k])
		}
		sort.Strings(keys)
		settings = strings.Join(keys, " ")
	}
	fmt.Fprintf(&b, "sqsonce demo: %s, %d workers under aws-lambda-rie, %s, %s\n\n",
		r.Prefix, r.Workers, settings, r.Elapsed.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	m, o := r.Mapping, r.Outcomes
	fmt.Fprintf(tw, "events sent\t%d messages: %d unique valid events, %d producer retries (same id, new message), %d invalid\n",
		r.Sent, r.UniqueEvents, r.Retries, r.Invalid)
	fmt.Fprintf(tw, "messages delivered\t%d records in %d invocations (%d whole-batch failures)\n", m.Received, m.Batches, m.BatchFailures)
	fmt.Fprintf(tw, "executed\t%d\n", o.Executed)
	fmt.Fprintf(tw, "replayed\t%d (duplicates suppressed)\n", o.Replayed)
	fmt.Fprintf(tw, "already applied\t%d (idempotency record gone, ledger entry kept)\n", o.AlreadyApplied)
	fmt.Fprintf(tw, "retried\t%d records reported in batchItemFailures%s\n", m.ReportedFailed, classes(o.Classes))
	fmt.Fprintf(tw, "in the DLQ\t%d (invalid bodies sent: %d)\n", r.DLQ, r.Invalid)
	fmt.Fprintf(tw, "ledger entries\t%d (unique valid events: %d)\n", r.LedgerEntries, r.UniqueEvents)
	_ = tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "account\tbalance\texpected\tentries\tevents\t\t\n")
	for _, a := range r.Accounts {
		mark := "ok"
		if a.Balance != a.Expected || a.Sum != a.Expected || a.Entries != a.Events || a.Counted != int64(a.Events) {
			mark = "WRONG"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t\n", a.Account, cents(a.Balance), cents(a.Expected), a.Entries, a.Events, mark)
	}
	_ = tw.Flush()
	b.WriteString("\n")
	if s := r.Stage2; s != nil {
		s.write(&b, r.UniqueEvents)
		stage1, stage2 := "held", "held"
		for _, v := range r.Violations() {
			if strings.HasPrefix(v, "stage 2: ") {
				stage2 = "VIOLATED"
			} else {
				stage1 = "VIOLATED"
			}
		}
		fmt.Fprintf(&b, "stage 1 (ledger events -> consumer -> ledger): exactly once: %s\n", stage1)
		fmt.Fprintf(&b, "stage 2 (BalanceChanged -> outbox -> relay -> second consumer): exactly once: %s\n", stage2)
	}
	if v := r.Violations(); len(v) > 0 {
		b.WriteString("exactly once: VIOLATED\n")
		for _, s := range v {
			b.WriteString("  - " + s + "\n")
		}
	} else {
		b.WriteString("exactly once: held\n")
	}
	if r.Trace != "" {
		b.WriteString("\nthe trace of one event (OpenTelemetry, TRACING=otlp):\n" + r.Trace)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// classes renders the error classes of reported records, if any.
func classes(c map[string]int) string {
	if len(c) == 0 {
		return ""
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// cents renders minor units as a decimal amount in EUR.
func cents(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d EUR", sign, v/100, v%100)
}
