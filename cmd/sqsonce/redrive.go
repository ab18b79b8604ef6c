package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sqsonce/sqsonce/internal/redrive"
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
	line := c.progress()
	res, err := redrive.Redrive(ctx, sess.sqs(), *dlqURL, *queueURL, redrive.Options{
		Method:                       m,
		MaxNumberOfMessagesPerSecond: int32(*rate),
		VisibilityTimeout:            int32(visibility.Seconds()),
		Progress: func(p redrive.Progress) {
			line.Set("redrive: moved %d, failed %d", p.Moved, p.Failed)
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
		}{From: *dlqURL, To: *queueURL, Method: res.Method.String(), Moved: res.Moved, Failed: res.Failed, DeleteFailed: res.DeleteFailed}
		if err := writeJSON(c.stdout, out); err != nil {
			return failure(c, "redrive", err)
		}
	} else {
		fmt.Fprintf(c.stdout, "moved %d messages from %s to %s (%s); failed %d; copied but not deleted %d\n",
			res.Moved, *dlqURL, *queueURL, res.Method, res.Failed, res.DeleteFailed)
	}
	if res.Failed > 0 {
		fmt.Fprintf(c.stderr, "sqsonce redrive: %d messages could not be copied and are still in the DLQ\n", res.Failed)
		return exitFailure
	}
	return exitOK
}
