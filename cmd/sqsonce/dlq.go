package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// dlqMaxDefault is how many messages dlq lists unless told.
const dlqMaxDefault = 100

func runDLQ(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "dlq")
	var stack stackFlags
	stack.register(fs, true)
	dlqURL := fs.String("dlq-url", "", "the dead-letter queue to list (or --stack-name)")
	max := fs.Int("max", dlqMaxDefault, "list at most this many messages")
	hold := fs.Duration("hold", redrive.PeekHoldDefault, "how long each message is hidden while the listing runs, so it is seen once; all are made visible again at the end")
	output := registerOutput(fs)
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	switch {
	case len(rest) > 0:
		return usageError(c, "dlq", "unexpected argument %q", rest[0])
	case *dlqURL == "" && stack.name == "":
		return usageError(c, "dlq", "give --dlq-url or --stack-name")
	case *max < 1:
		return usageError(c, "dlq", "--max must be positive")
	case *hold < time.Second || *hold > 12*time.Hour:
		return usageError(c, "dlq", "--hold %v is not within 1s..12h (SQS's range)", *hold)
	case checkQueueURL("dlq-url", *dlqURL) != "":
		return usageError(c, "dlq", "%s", checkQueueURL("dlq-url", *dlqURL))
	}
	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "dlq", err)
	}
	if err := stack.fill(ctx, sess, map[string]*string{outputDLQ: dlqURL}); err != nil {
		return failure(c, "dlq", err)
	}
	peeked, err := redrive.Peek(ctx, sess.sqs(), *dlqURL, *max, *hold)
	if err != nil {
		// No listing: a partial or empty one would read as the DLQ's content.
		return failure(c, "dlq", err)
	}
	now := time.Now()
	entries := make([]dlqEntry, 0, len(peeked))
	for _, p := range peeked {
		entries = append(entries, newDLQEntry(p, now))
	}
	if *output == outputJSON {
		if err := writeJSON(c.stdout, struct {
			QueueURL string     `json:"queueUrl"`
			Count    int        `json:"count"`
			Messages []dlqEntry `json:"messages"`
		}{*dlqURL, len(entries), entries}); err != nil {
			return failure(c, "dlq", err)
		}
	} else {
		printDLQ(c.stdout, *dlqURL, entries, *max)
	}
	return exitOK
}

// Where a message in a DLQ came from.
const (
	viaConsumer      = "consumer"       // sent by the consumer: a permanent failure, classified
	viaRedrivePolicy = "redrive-policy" // moved by the queue after maxReceiveCount receives
)

// dlqEntry is one message of a DLQ, as dlq shows it.
type dlqEntry struct {
	MessageID string `json:"messageId"`
	// SourceMessageID is the message's ID in the source queue, when the
	// consumer sent it (the queue's redrive policy keeps the ID).
	SourceMessageID string    `json:"sourceMessageId,omitempty"`
	EventID         string    `json:"eventId,omitempty"`
	Via             string    `json:"via"`
	ErrorClass      string    `json:"errorClass,omitempty"`
	Error           string    `json:"error,omitempty"`
	ReceiveCount    int       `json:"receiveCount"`
	SentAt          time.Time `json:"sentAt"`
	AgeSeconds      int64     `json:"ageSeconds"`
	GroupID         string    `json:"messageGroupId,omitempty"`
}

func newDLQEntry(p redrive.Peeked, now time.Time) dlqEntry {
	e := dlqEntry{
		MessageID:       p.MessageID,
		SourceMessageID: p.Attributes[sqsonce.AttrSourceMessageID],
		EventID:         p.Attributes[ledger.AttrEventID],
		Via:             viaRedrivePolicy,
		ErrorClass:      p.Attributes[sqsonce.AttrErrorClass],
		Error:           p.Attributes[sqsonce.AttrError],
		ReceiveCount:    p.ReceiveCount,
		SentAt:          p.SentAt,
		AgeSeconds:      int64(now.Sub(p.SentAt).Seconds()),
		GroupID:         p.GroupID,
	}
	if e.ErrorClass != "" || e.Error != "" {
		e.Via = viaConsumer
	}
	if e.EventID == "" {
		var body struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(p.Body), &body) == nil {
			e.EventID = body.ID
		}
	}
	return e
}

// printDLQ writes the entries as a table for people.
func printDLQ(w io.Writer, url string, entries []dlqEntry, max int) {
	more := ""
	if len(entries) == max {
		more = " (--max reached: there may be more)"
	}
	fmt.Fprintf(w, "%d messages in %s%s\n", len(entries), url, more)
	if len(entries) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE ID\tEVENT ID\tVIA\tCLASS\tRECEIVES\tAGE\tREASON")
	for _, e := range entries {
		reason := e.Error
		if e.Via == viaRedrivePolicy {
			reason = "failed on every receive until the queue's maxReceiveCount; the consumer's log has why"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.MessageID, dash(e.EventID), e.Via, dash(e.ErrorClass),
			e.ReceiveCount, (time.Duration(e.AgeSeconds) * time.Second).String(), strings.ReplaceAll(reason, "\n", " "))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
