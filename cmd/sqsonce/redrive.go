package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/internal/redrive"
)

func runRedrive(ctx context.Context, c cli, args []string) int {
	fs := newFlags(c, "redrive")
	dlqURL := fs.String("dlq-url", "", "the dead-letter queue to empty (required)")
	queueURL := fs.String("queue-url", "", "the queue to move the messages to, normally the DLQ's source (required)")
	method := fs.String("method", "auto", "auto (StartMessageMoveTask, else a receive/send/delete loop), move-task, or receive-send")
	rate := fs.Int("rate", 0, "a move task's messages per second (0: SQS chooses)")
	visibility := fs.Int("visibility-timeout", redrive.VisibilityTimeoutDefault, "seconds a DLQ message is hidden while the loop copies it")
	rest, err := parse(c, fs, args)
	if err != nil {
		return parseExit(err)
	}
	methods := map[string]redrive.Method{"auto": redrive.MethodAuto, "move-task": redrive.MethodMoveTask, "receive-send": redrive.MethodReceiveSend}
	m, ok := methods[*method]
	switch {
	case len(rest) > 0:
		return usageError(c, "redrive", "unexpected argument %q", rest[0])
	case *dlqURL == "" || *queueURL == "":
		return usageError(c, "redrive", "--dlq-url and --queue-url are required")
	case !ok:
		return usageError(c, "redrive", "--method %q is not auto, move-task or receive-send", *method)
	case *rate < 0 || *visibility < 1:
		return usageError(c, "redrive", "--rate must not be negative and --visibility-timeout must be positive")
	}

	awsCfg, err := c.awsConfig(ctx)
	if err != nil {
		return failure(c, "redrive", err)
	}
	res, err := redrive.Redrive(ctx, sqs.NewFromConfig(awsCfg), *dlqURL, *queueURL, redrive.Options{
		Method:                       m,
		MaxNumberOfMessagesPerSecond: int32(*rate),
		VisibilityTimeout:            int32(*visibility),
		Progress: func(p redrive.Progress) {
			fmt.Fprintf(c.stderr, "\rredrive: moved %d, failed %d", p.Moved, p.Failed)
		},
	})
	fmt.Fprintln(c.stderr)
	fmt.Fprintf(c.stdout, "moved %d messages from %s to %s (%s); failed %d; copied but not deleted %d\n",
		res.Moved, *dlqURL, *queueURL, res.Method, res.Failed, res.DeleteFailed)
	if err != nil {
		return failure(c, "redrive", err)
	}
	if res.Failed > 0 {
		fmt.Fprintf(c.stderr, "sqsonce redrive: %d messages could not be copied and are still in the DLQ\n", res.Failed)
		return exitFailure
	}
	return exitOK
}
