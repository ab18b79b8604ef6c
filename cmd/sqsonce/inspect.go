package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

func runInspect(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "inspect")
	var stack stackFlags
	stack.register(fs, false)
	table := fs.String("table", "", "the idempotency table, IDEMPOTENCY_TABLE (or --stack-name)")
	prefix := fs.String("prefix", consumer.KeyPrefixDefault, "the key prefix the consumer uses, IDEMPOTENCY_KEY_PREFIX")
	stored := fs.Bool("stored", false, "KEY is already a stored key (PREFIX#sha256), as the table shows it")
	env := envLookup(c.env)
	partitionKey := fs.String("partition-key", env("IDEMPOTENCY_PARTITION_KEY"), "the table's partition key attribute, IDEMPOTENCY_PARTITION_KEY (default \"id\")")
	sortKey := fs.String("sort-key", env("IDEMPOTENCY_SORT_KEY"), "the sort key attribute of a shared (single-table) table, IDEMPOTENCY_SORT_KEY")
	shards := fs.Int("shards", 0, "with --sort-key: the partition values the records are spread over, IDEMPOTENCY_SHARDS (default 16)")
	ttlAttr := fs.String("ttl-attribute", env("IDEMPOTENCY_TTL_ATTRIBUTE"), "the table's TTL attribute, IDEMPOTENCY_TTL_ATTRIBUTE (default \"expiration\")")
	output := registerOutput(fs)
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	if *shards == 0 && env("IDEMPOTENCY_SHARDS") != "" {
		if *shards, err = strconv.Atoi(env("IDEMPOTENCY_SHARDS")); err != nil {
			return usageError(c, "inspect", "IDEMPOTENCY_SHARDS %q is not a number", env("IDEMPOTENCY_SHARDS"))
		}
	}
	switch {
	case len(rest) != 1:
		return usageError(c, "inspect", "give exactly one KEY (the business key, e.g. an event id)")
	case *table == "" && stack.name == "":
		return usageError(c, "inspect", "give --table or --stack-name")
	case *prefix == "" && !*stored:
		return usageError(c, "inspect", "--prefix may not be empty")
	case *shards < 0 || (*shards > 0 && *sortKey == ""):
		return usageError(c, "inspect", "--shards must be positive and goes with --sort-key")
	}
	key := rest[0]
	storedKey := key
	if !*stored {
		storedKey = idempotency.StoredKey(*prefix, key)
	}

	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "inspect", err)
	}
	if err := stack.fill(ctx, sess, map[string]*string{outputIdempotencyTable: table}); err != nil {
		return failure(c, "inspect", err)
	}
	layout := dynamostore.Layout{KeyAttr: *partitionKey, SortKeyAttr: *sortKey, Shards: *shards, ExpirationAttr: *ttlAttr}
	store, err := dynamostore.New(sess.dynamodb(), *table, dynamostore.WithLayout(layout))
	if err != nil {
		return failure(c, "inspect", err)
	}
	rec, err := store.Get(ctx, storedKey)
	found := err == nil
	if err != nil && !errors.Is(err, idempotency.ErrNotFound) {
		return failure(c, "inspect", err)
	}
	if *output == outputJSON {
		if err := writeJSON(c.stdout, recordJSON(key, storedKey, *table, found, rec, time.Now())); err != nil {
			return failure(c, "inspect", err)
		}
	} else if found {
		printRecord(c.stdout, key, rec, time.Now())
	} else {
		fmt.Fprintf(c.stdout, "key %s: not found (stored key %s in %s)\n", key, storedKey, *table)
	}
	if !found {
		return exitFailure
	}
	return exitOK
}

// envLookup returns a lookup of env's variables.
func envLookup(env []string) func(string) string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// inspectJSON is inspect's --output json.
type inspectJSON struct {
	Key         string          `json:"key"`
	StoredKey   string          `json:"storedKey"`
	Table       string          `json:"table"`
	Found       bool            `json:"found"`
	Status      string          `json:"status,omitempty"`
	Live        *bool           `json:"live,omitempty"`
	LeaseUntil  *time.Time      `json:"leaseUntil,omitempty"`
	ExpiresAt   *time.Time      `json:"expiresAt,omitempty"`
	PayloadHash string          `json:"payloadHash,omitempty"`
	OwnerToken  string          `json:"ownerToken,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
}

func recordJSON(key, storedKey, table string, found bool, rec idempotency.Record, now time.Time) inspectJSON {
	out := inspectJSON{Key: key, StoredKey: storedKey, Table: table, Found: found}
	if !found {
		return out
	}
	live := rec.Live(now)
	out.Status, out.Live, out.PayloadHash, out.OwnerToken = string(rec.Status), &live, rec.PayloadHash, rec.Token
	if !rec.LeaseUntil.IsZero() {
		t := rec.LeaseUntil.UTC()
		out.LeaseUntil = &t
	}
	if !rec.ExpiresAt.IsZero() {
		t := rec.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	if len(rec.Result) > 0 {
		if json.Valid(rec.Result) {
			out.Result = rec.Result
		} else {
			out.Result, _ = json.Marshal(string(rec.Result))
		}
	}
	return out
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
