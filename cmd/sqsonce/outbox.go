package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// outputOutboxTable is the stack output naming the outbox table
// (NotifyBalanceChanges).
const outputOutboxTable = "OutboxTableName"

// runOutbox shows the outbox's state: `sqsonce outbox [flags]`, or, with
// `resend`, makes failed items pending again so the relay sends them.
func runOutbox(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "outbox")
	var stack stackFlags
	stack.register(fs, false)
	env := envLookup(c.env)
	table := outbox.Table{}
	fs.StringVar(&table.Name, "table", env("OUTBOX_TABLE"), "the outbox table, OUTBOX_TABLE (or --stack-name)")
	fs.StringVar(&table.PartitionKey, "partition-key", env("OUTBOX_PARTITION_KEY"), "its partition key attribute, OUTBOX_PARTITION_KEY (default \"pk\")")
	fs.StringVar(&table.SortKey, "sort-key", env("OUTBOX_SORT_KEY"), "its sort key attribute, OUTBOX_SORT_KEY (default \"sk\")")
	allFailed := fs.Bool("all-failed", false, "with resend: every failed item")
	output := registerOutput(fs)
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	resend := len(rest) > 0 && rest[0] == "resend"
	switch {
	case len(rest) > 0 && !resend:
		return usageError(c, "outbox", "unknown argument %q: give no argument, or resend (--all-failed | ID...)", rest[0])
	case resend && *allFailed == (len(rest) > 1):
		return usageError(c, "outbox", "resend takes --all-failed or the IDs of items, not both")
	case !resend && *allFailed:
		return usageError(c, "outbox", "--all-failed goes with resend")
	case table.Name == "" && stack.name == "":
		return usageError(c, "outbox", "give --table or --stack-name")
	}
	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "outbox", err)
	}
	if err := stack.fill(ctx, sess, map[string]*string{outputOutboxTable: &table.Name}); err != nil {
		return failure(c, "outbox", err)
	}
	db := sess.dynamodb()
	summary, all, err := outbox.Inspect(ctx, db, table)
	if err != nil {
		return failure(c, "outbox", err)
	}
	now := time.Now()
	if !resend {
		if *output == outputJSON {
			if err := writeJSON(c.stdout, outboxJSONOf(table.Name, summary, now)); err != nil {
				return failure(c, "outbox", err)
			}
			return exitOK
		}
		printOutbox(c.stdout, table.Name, summary, now)
		return exitOK
	}
	targets := summary.Failed
	if !*allFailed {
		byID := map[string]outbox.Item{}
		for _, it := range all {
			byID[it.ID] = it
		}
		targets = nil
		for _, id := range rest[1:] {
			it, ok := byID[id]
			if !ok {
				return failure(c, "outbox", fmt.Errorf("no item %s in the outbox %s", id, table.Name))
			}
			targets = append(targets, it)
		}
	}
	for _, it := range targets {
		if err := outbox.Resend(ctx, db, table, it); err != nil {
			return failure(c, "outbox", err)
		}
		fmt.Fprintf(c.stdout, "resent %s (to %s)\n", it.ID, destination(it.Event.To))
	}
	if len(targets) == 0 {
		fmt.Fprintln(c.stdout, "nothing to resend: no failed item")
	}
	return exitOK
}

// outboxJSON is `sqsonce outbox --output json`.
type outboxJSON struct {
	Table             string           `json:"table"`
	Pending           int              `json:"pending"`
	OldestPending     *time.Time       `json:"oldest_pending,omitempty"`
	OldestPendingAgeS float64          `json:"oldest_pending_age_seconds"`
	Sent              int              `json:"sent"`
	Failed            []failedItemJSON `json:"failed"`
}

type failedItemJSON struct {
	ID          string    `json:"id"`
	Destination string    `json:"destination"`
	Group       string    `json:"group,omitempty"`
	SourceKey   string    `json:"source_key"`
	Created     time.Time `json:"created"`
	Failed      time.Time `json:"failed"`
	Error       string    `json:"error"`
}

func outboxJSONOf(table string, s outbox.Summary, now time.Time) outboxJSON {
	out := outboxJSON{Table: table, Pending: s.Pending, Sent: s.Sent, Failed: []failedItemJSON{}}
	if !s.OldestPending.IsZero() {
		out.OldestPending = &s.OldestPending
		out.OldestPendingAgeS = now.Sub(s.OldestPending).Seconds()
	}
	for _, it := range s.Failed {
		out.Failed = append(out.Failed, failedItemJSON{ID: it.ID, Destination: destination(it.Event.To), Group: group(it.Event.To),
			SourceKey: it.SourceKey, Created: it.Created, Failed: it.Failed, Error: it.Error})
	}
	return out
}

func printOutbox(w io.Writer, table string, s outbox.Summary, now time.Time) {
	fmt.Fprintf(w, "outbox %s\n", table)
	oldest := ""
	if !s.OldestPending.IsZero() {
		oldest = fmt.Sprintf(" (oldest %s ago)", now.Sub(s.OldestPending).Round(time.Second))
	}
	fmt.Fprintf(w, "pending  %d%s\n", s.Pending, oldest)
	fmt.Fprintf(w, "sent     %d (kept until the TTL removes them)\n", s.Sent)
	fmt.Fprintf(w, "failed   %d\n", len(s.Failed))
	if len(s.Failed) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfailed items, oldest first (fix the cause, then: sqsonce outbox resend --all-failed):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDESTINATION\tGROUP\tFAILED\tERROR")
	for _, it := range s.Failed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.ID, destination(it.Event.To), group(it.Event.To), it.Failed.UTC().Format(time.RFC3339), it.Error)
	}
	_ = tw.Flush()
}

// destination names where an event goes.
func destination(d outbox.Destination) string {
	switch d := d.(type) {
	case outbox.SQS:
		return d.QueueURL
	case outbox.SNS:
		return d.TopicARN
	case outbox.EventBridge:
		bus := d.EventBusName
		if bus == "" {
			bus = "default"
		}
		return "events:" + bus
	}
	return "?"
}

// group is an event's FIFO group, if any.
func group(d outbox.Destination) string {
	switch d := d.(type) {
	case outbox.SQS:
		return d.GroupID
	case outbox.SNS:
		return d.GroupID
	}
	return ""
}
