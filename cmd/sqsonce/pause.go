package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// reasonDefault is pause's --reason unless told.
const reasonDefault = "paused by an operator"

// maxTagValue is the longest tag value Lambda accepts.
const maxTagValue = 256

// Actions pause and resume report for each mapping.
const (
	actionPaused        = "paused"
	actionAlreadyPaused = "already paused"
	actionTakenOver     = "kept paused, now by the operator" // was paused by a store outage
	actionResumed       = "resumed"
	actionNotPaused     = "not paused"
)

func runPause(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "pause")
	var fn consumerFlags
	fn.register(fs)
	reason := fs.String("reason", reasonDefault, "why, kept in the mapping's tag "+sqsonce.TagPausedReason+" for status and the alarm (at most 256 characters)")
	output := registerOutput(fs)
	if code, ok := fn.parse(c, fs, args); !ok {
		return code
	}
	if *reason == "" || len(*reason) > maxTagValue {
		return usageError(c, "pause", "--reason must be 1 to %d characters (a tag value)", maxTagValue)
	}
	return actOnMappings(ctx, c, "pause", awsf, &fn, *output, func(ctx context.Context, api *lambda.Client, m *mapping, now time.Time) (string, error) {
		if m.Paused() && m.PausedBy == sqsonce.PausedByOperator {
			return actionAlreadyPaused, nil
		}
		action := actionPaused
		if m.Paused() {
			action = actionTakenOver // the probe resumes only store-outage pauses: this one stays
		}
		// Tag first, as the library does: a disabled mapping always says who
		// paused it, and the probe never resumes an operator's pause.
		tags := map[string]string{
			sqsonce.TagPausedBy:     sqsonce.PausedByOperator,
			sqsonce.TagPausedAt:     now.UTC().Format(time.RFC3339),
			sqsonce.TagPausedReason: *reason,
		}
		if _, err := api.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(m.ARN), Tags: tags}); err != nil {
			return "", fmt.Errorf("tag event source mapping %s: %w", m.UUID, err)
		}
		m.PausedBy, m.PausedAt, m.Reason = sqsonce.PausedByOperator, now.UTC().Truncate(time.Second), *reason
		if m.Paused() {
			return action, nil
		}
		out, err := api.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(m.UUID), Enabled: aws.Bool(false)})
		if err != nil {
			return "", fmt.Errorf("disable event source mapping %s (tagged as paused, still enabled: run pause again, or resume to remove the tags): %w", m.UUID, err)
		}
		m.State = aws.ToString(out.State)
		return action, nil
	})
}

func runResume(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "resume")
	var fn consumerFlags
	fn.register(fs)
	output := registerOutput(fs)
	if code, ok := fn.parse(c, fs, args); !ok {
		return code
	}
	return actOnMappings(ctx, c, "resume", awsf, &fn, *output, func(ctx context.Context, api *lambda.Client, m *mapping, _ time.Time) (string, error) {
		action := actionNotPaused
		if m.Paused() {
			out, err := api.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(m.UUID), Enabled: aws.Bool(true)})
			if err != nil {
				return "", fmt.Errorf("enable event source mapping %s: %w", m.UUID, err)
			}
			m.State, action = aws.ToString(out.State), actionResumed
		}
		if m.PausedBy != "" || m.Reason != "" || !m.PausedAt.IsZero() {
			if _, err := api.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(m.ARN), TagKeys: pauseTags}); err != nil {
				return "", fmt.Errorf("remove the pause tags of event source mapping %s (it is enabled; run resume again): %w", m.UUID, err)
			}
		}
		return action, nil
	})
}

// actOnMappings runs act on each event source mapping of the consumer and
// prints what it did. On an error it prints no result: stderr says which
// mappings were changed before it.
func actOnMappings(ctx context.Context, c cli, name string, awsf *awsFlags, fn *consumerFlags, output outputFlag,
	act func(context.Context, *lambda.Client, *mapping, time.Time) (string, error)) int {
	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, name, err)
	}
	if err := fn.resolve(ctx, sess); err != nil {
		return failure(c, name, err)
	}
	api := sess.lambda()
	ms, err := mappings(ctx, api, fn.function)
	if err != nil {
		return failure(c, name, err)
	}
	now := time.Now()
	rows := make([]mappingJSON, 0, len(ms))
	var done []string
	for i := range ms {
		action, err := act(ctx, api, &ms[i], now)
		if err != nil {
			if len(done) > 0 {
				err = errors.Join(err, fmt.Errorf("before it: %v", done))
			}
			return failure(c, name, err)
		}
		rows = append(rows, ms[i].toJSON(action, now))
		done = append(done, fmt.Sprintf("%s %s (%s)", action, ms[i].UUID, ms[i].Queue))
	}
	if output == outputJSON {
		if err := writeJSON(c.stdout, struct {
			Function string        `json:"function"`
			Mappings []mappingJSON `json:"mappings"`
		}{fn.function, rows}); err != nil {
			return failure(c, name, err)
		}
		return exitOK
	}
	printActions(c.stdout, fn.function, rows)
	if name == "pause" {
		fmt.Fprintln(c.stdout, "Lambda stops polling within about a minute (state Disabling, then Disabled); batches in flight finish. 'sqsonce status' shows it; 'sqsonce resume' restarts. The store-outage probe never resumes an operator's pause.")
	}
	return exitOK
}

func printActions(w io.Writer, function string, rows []mappingJSON) {
	fmt.Fprintf(w, "event source mappings of %s:\n", function)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAPPING\tQUEUE\tSTATE\tACTION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.UUID, r.Queue, r.State, r.Action)
	}
	_ = tw.Flush()
}
