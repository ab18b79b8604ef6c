package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
)

func runInspect(ctx context.Context, c cli, args []string) int {
	fs := newFlags(c, "inspect")
	table := fs.String("table", "", "the idempotency table (required)")
	prefix := fs.String("prefix", ledger.KeyPrefixDefault, "the key prefix the consumer uses (IDEMPOTENCY_KEY_PREFIX)")
	stored := fs.Bool("stored", false, "KEY is already a stored key (PREFIX#sha256), as the table shows it")
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	switch {
	case len(rest) != 1:
		return usageError(c, "inspect", "give exactly one KEY (the business key, e.g. an event id)")
	case *table == "":
		return usageError(c, "inspect", "--table is required")
	case *prefix == "" && !*stored:
		return usageError(c, "inspect", "--prefix may not be empty")
	}
	key := rest[0]
	storedKey := key
	if !*stored {
		storedKey = idempotency.StoredKey(*prefix, key)
	}

	awsCfg, err := c.awsConfig(ctx)
	if err != nil {
		return failure(c, "inspect", err)
	}
	store, err := dynamostore.New(dynamodb.NewFromConfig(awsCfg), *table)
	if err != nil {
		return failure(c, "inspect", err)
	}
	rec, err := store.Get(ctx, storedKey)
	if errors.Is(err, idempotency.ErrNotFound) {
		fmt.Fprintf(c.stdout, "key %s: not found (stored key %s in %s)\n", key, storedKey, *table)
		return exitFailure
	}
	if err != nil {
		return failure(c, "inspect", err)
	}
	printRecord(c.stdout, key, rec, time.Now())
	return exitOK
}

// printRecord writes a record for people: status, lease, expiry relative to
// now, and the stored result decoded.
func printRecord(w io.Writer, key string, rec idempotency.Record, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "key\t%s\n", key)
	fmt.Fprintf(tw, "stored key\t%s\n", rec.Key)
	fmt.Fprintf(tw, "status\t%s\n", rec.Status)
	if rec.Status == idempotency.StatusInProgress || !rec.LeaseUntil.IsZero() {
		fmt.Fprintf(tw, "lease until\t%s\n", when(rec.LeaseUntil, now))
	}
	fmt.Fprintf(tw, "expires at\t%s\n", when(rec.ExpiresAt, now))
	if rec.Live(now) {
		fmt.Fprintf(tw, "live\tyes: a duplicate is suppressed\n")
	} else {
		fmt.Fprintf(tw, "live\tno: expired, the next delivery runs again\n")
	}
	if rec.PayloadHash != "" {
		fmt.Fprintf(tw, "payload hash\t%s\n", rec.PayloadHash)
	}
	if rec.Token != "" {
		fmt.Fprintf(tw, "owner token\t%s\n", rec.Token)
	}
	fmt.Fprintf(tw, "result\t%s\n", result(rec.Result))
	_ = tw.Flush()
}

// when renders a time with how far it is from now.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now).Round(time.Second)
	rel := "in " + d.String()
	if d < 0 {
		rel = (-d).String() + " ago"
	}
	return fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339Nano), rel)
}

// result renders a stored result: compact JSON when it is JSON, quoted
// otherwise.
func result(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	if json.Valid(b) {
		var v any
		if json.Unmarshal(b, &v) == nil {
			if out, err := json.Marshal(v); err == nil {
				return string(out)
			}
		}
	}
	return fmt.Sprintf("%q", b)
}
