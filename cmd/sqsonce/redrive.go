package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

func runRedrive(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "redrive")
	var stack stackFlags
	stack.register(fs, true)
	dlqURL := fs.String("dlq-url", "", "the dead-letter queue to empty (or --stack-name)")
	queueURL := fs.String("queue-url", "", "the queue to move the messages to, normally the DLQ's source (or --stack-name)")
	method := fs.String("method", "auto", "auto (StartMessageMoveTask, else a receive/send/delete loop), move-task, or receive-send")
	rate := fs.Int("rate", 0, "a move task's messages per second (0: SQS chooses)")
	visibility := fs.Duration("visibility-timeout", redrive.VisibilityTimeoutDefault*time.Second, "how long the loop hides a DLQ message while it copies it")
	ttl := fs.Duration("ttl", 0, fmt.Sprintf("the idempotency records' TTL: messages first sent longer ago stay in the DLQ, since their records may have expired (default: with --stack-name its IdempotencyTTL parameter, else %v)", idempotency.TTLDefault))
	allowOld := fs.Bool("allow-older-than-ttl", false, "move messages first sent more than the TTL ago too: their effects may run a second time")
	output := registerOutput(fs)
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	methods := map[string]redrive.Method{"auto": redrive.MethodAuto, "move-task": redrive.MethodMoveTask, "receive-send": redrive.MethodReceiveSend}
	m, ok := methods[*method]
	switch {
	case len(rest) > 0:
		return usageError(c, "redrive", "unexpected argument %q", rest[0])
	case (*dlqURL == "" || *queueURL == "") && stack.name == "":
		return usageError(c, "redrive", "give --dlq-url and --queue-url, or --stack-name")
	case !ok:
		return usageError(c, "redrive", "--method %q is not auto, move-task or receive-send", *method)
	case *rate < 0:
		return usageError(c, "redrive", "--rate must not be negative")
	case *visibility < time.Second || *visibility > 12*time.Hour || *visibility%time.Second != 0:
		return usageError(c, "redrive", "--visibility-timeout %v is not whole seconds within 1s..12h (SQS's range)", *visibility)
	case *ttl < 0:
		return usageError(c, "redrive", "--ttl must not be negative")
	case m == redrive.MethodMoveTask && !*allowOld:
		return usageError(c, "redrive", "--method move-task moves every message whatever its age, so it cannot leave those older than the TTL: use --method receive-send (auto does), or add --allow-older-than-ttl")
	case checkQueueURL("dlq-url", *dlqURL) != "":
		return usageError(c, "redrive", "%s", checkQueueURL("dlq-url", *dlqURL))
	case checkQueueURL("queue-url", *queueURL) != "":
		return usageError(c, "redrive", "%s", checkQueueURL("queue-url", *queueURL))
	}

	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "redrive", err)
	}
	if err := stack.fill(ctx, sess, map[string]*string{outputDLQ: dlqURL, outputQueue: queueURL}); err != nil {
		return failure(c, "redrive", err)
	}
	maxAge := time.Duration(0)
	if !*allowOld {
		if maxAge, err = redriveTTL(ctx, sess, &stack, *ttl); err != nil {
			return failure(c, "redrive", err)
		}
	}
	line := c.progress()
	res, err := redrive.Redrive(ctx, sess.sqs(), *dlqURL, *queueURL, redrive.Options{
		Method:                       m,
		MaxNumberOfMessagesPerSecond: int32(*rate),
		VisibilityTimeout:            int32(visibility.Seconds()),
		MaxAge:                       maxAge,
		Progress: func(p redrive.Progress) {
			line.Set("redrive: moved %d, failed %d, too old %d", p.Moved, p.Failed, p.TooOld)
		},
	})
	line.Done()
	if err != nil {
		// No report on stdout: what was done before the error is in the message.
		return failure(c, "redrive", fmt.Errorf("%w (before it stopped: moved %d, failed %d, copied but not deleted %d)",
			err, res.Moved, res.Failed, res.DeleteFailed))
	}
	if *output == outputJSON {
		out := struct {
			From         string `json:"from"`
			To           string `json:"to"`
			Method       string `json:"method"`
			Moved        int64  `json:"moved"`
			Failed       int64  `json:"failed"`
			DeleteFailed int64  `json:"copiedNotDeleted"`
			// TTL is the age limit applied, absent with --allow-older-than-ttl.
			TTL        string `json:"ttl,omitempty"`
			TooOld     int64  `json:"tooOld"`
			OldestSecs int64  `json:"oldestTooOldSeconds,omitempty"`
		}{From: *dlqURL, To: *queueURL, Method: res.Method.String(), Moved: res.Moved, Failed: res.Failed, DeleteFailed: res.DeleteFailed,
			TooOld: res.TooOld, OldestSecs: int64(res.OldestTooOld.Seconds())}
		if maxAge > 0 {
			out.TTL = maxAge.String()
		}
		if err := writeJSON(c.stdout, out); err != nil {
			return failure(c, "redrive", err)
		}
	} else {
		fmt.Fprintf(c.stdout, "moved %d messages from %s to %s (%s); failed %d; copied but not deleted %d\n",
			res.Moved, *dlqURL, *queueURL, res.Method, res.Failed, res.DeleteFailed)
		if res.TooOld > 0 {
			fmt.Fprintf(c.stdout, "left %d messages first sent more than %v (the TTL) ago; the oldest %v ago\n",
				res.TooOld, maxAge, res.OldestTooOld.Round(time.Second))
		}
	}
	code := exitOK
	if res.Failed > 0 {
		fmt.Fprintf(c.stderr, "sqsonce redrive: %d messages could not be copied and are still in the DLQ\n", res.Failed)
		code = exitFailure
	}
	if res.TooOld > 0 {
		fmt.Fprintf(c.stderr, "sqsonce redrive: %d messages stay in the DLQ: first sent more than %v ago (the oldest %v ago), longer than the idempotency TTL, so their records may have expired and moving them could apply their effects a second time.\n"+
			"List them with 'sqsonce dlq'. Redrive them with --allow-older-than-ttl only where their effects were never applied or are safe to repeat; otherwise handle them by hand and delete them.\n",
			res.TooOld, maxAge, res.OldestTooOld.Round(time.Second))
		code = exitFailure
	}
	return code
}

// stackTTLParameter is the template's parameter of the records' TTL.
const stackTTLParameter = "IdempotencyTTL"

// redriveTTL is the age limit of a redrive: --ttl, else the stack's
// IdempotencyTTL parameter with --stack-name, else idempotency.TTLDefault.
func redriveTTL(ctx context.Context, sess session, stack *stackFlags, ttl time.Duration) (time.Duration, error) {
	if ttl > 0 {
		return ttl, nil
	}
	v, ok, err := stack.parameter(ctx, sess, stackTTLParameter)
	if err != nil || !ok {
		return idempotency.TTLDefault, err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("stack %s: parameter %s %q is not a positive duration: give the records' TTL with --ttl", stack.name, stackTTLParameter, v)
	}
	return d, nil
}
