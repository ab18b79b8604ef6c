package redrive

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Move task statuses, as ListMessageMoveTasks reports them.
const (
	statusCompleted = "COMPLETED"
	statusFailed    = "FAILED"
	statusCancelled = "CANCELLED"
)

// moveTask starts a message move task and waits for it to end. It returns
// ErrMoveTaskUnsupported when the endpoint lacks the operation. The probe is
// not retried: an endpoint without the operation answers the same every time.
func moveTask(ctx context.Context, client Client, dlqURL, destURL string, opts Options) (Result, error) {
	res := Result{Method: MethodMoveTask}
	src, err := queueARN(ctx, client, dlqURL)
	if err != nil {
		return res, err
	}
	dst, err := queueARN(ctx, client, destURL)
	if err != nil {
		return res, err
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src), DestinationArn: aws.String(dst)}
	if opts.MaxNumberOfMessagesPerSecond > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(opts.MaxNumberOfMessagesPerSecond)
	}
	out, err := client.StartMessageMoveTask(ctx, in, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		if unsupported(err) {
			return res, fmt.Errorf("start move task %s -> %s: %w: %w", src, dst, ErrMoveTaskUnsupported, err)
		}
		return res, fmt.Errorf("start move task %s -> %s: %w", src, dst, err)
	}
	res.TaskHandle = aws.ToString(out.TaskHandle)
	opts.Logger.Info("message move task started", "source", src, "destination", dst, "task", res.TaskHandle)

	ticker := time.NewTicker(opts.TaskPollInterval)
	defer ticker.Stop()
	for {
		tasks, err := client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(10)})
		if err != nil {
			return res, fmt.Errorf("status of move task %s: %w", res.TaskHandle, err)
		}
		task, ok := ourTask(tasks.Results, res.TaskHandle)
		if !ok {
			return res, fmt.Errorf("move task %s not listed for %s", res.TaskHandle, src)
		}
		res.Moved = task.ApproximateNumberOfMessagesMoved
		opts.Progress(res.Progress)
		switch status := aws.ToString(task.Status); status {
		case statusCompleted:
			return res, nil
		case statusFailed, statusCancelled:
			if toMove := aws.ToInt64(task.ApproximateNumberOfMessagesToMove); toMove > res.Moved {
				res.Failed = toMove - res.Moved
			}
			return res, fmt.Errorf("move task %s %s: %s: %w", res.TaskHandle, status, aws.ToString(task.FailureReason), ErrTaskFailed)
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("wait for move task %s: %w", res.TaskHandle, ctx.Err())
		case <-ticker.C:
		}
	}
}

// ourTask finds the task a StartMessageMoveTask call created among the
// newest-first list of tasks: the one with its handle, or, since SQS lists a
// handle only while a task runs, the newest task once it has ended.
func ourTask(tasks []types.ListMessageMoveTasksResultEntry, handle string) (types.ListMessageMoveTasksResultEntry, bool) {
	for _, task := range tasks {
		if h := aws.ToString(task.TaskHandle); h == handle {
			return task, true
		}
	}
	if len(tasks) > 0 && aws.ToString(tasks[0].TaskHandle) == "" {
		return tasks[0], true
	}
	return types.ListMessageMoveTasksResultEntry{}, false
}
