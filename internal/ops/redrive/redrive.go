package redrive

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Redrive moves the messages of the queue at dlqURL to the queue at destURL
// (normally the DLQ's source queue), by opts.Method, and returns what it did.
// Progress reports running totals through opts.Progress. An error comes with
// the counts so far.
func Redrive(ctx context.Context, client Client, dlqURL, destURL string, opts Options) (Result, error) {
	opts = opts.WithDefaults()
	if err := opts.validate(); err != nil {
		return Result{}, err
	}
	if opts.Method != MethodReceiveSend && opts.MaxAge <= 0 {
		res, err := moveTask(ctx, client, dlqURL, destURL, opts)
		if opts.Method == MethodMoveTask || !errors.Is(err, ErrMoveTaskUnsupported) {
			return res, err
		}
		opts.Logger.Info("StartMessageMoveTask unsupported; moving messages one batch at a time", "err", err)
	}
	return receiveSend(ctx, client, dlqURL, destURL, opts)
}

func queueARN(ctx context.Context, client Client, url string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("get ARN of %s: %w", url, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("get ARN of %s: no QueueArn attribute", url)
	}
	return arn, nil
}
