package redrive

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// batchMax is SQS's limit on messages per receive, send and delete call.
const batchMax = 10

// receiveSend moves messages ten at a time: receive from the DLQ, send
// copies to the destination, delete from the DLQ exactly those whose copy was
// accepted. It ends when a receive returns nothing. A message whose copy
// failed stays in the DLQ and is not tried again in this run: receiving it
// again only hides it for another VisibilityTimeout. A message older than
// opts.MaxAge is not copied; it is made visible again at the end.
func receiveSend(ctx context.Context, client Client, dlqURL, destURL string, opts Options) (Result, error) {
	res := Result{Method: MethodReceiveSend}
	failed := map[string]bool{}   // message ids whose copy failed in this run
	tooOld := map[string]string{} // message id -> its latest receipt handle
	defer func() {
		handles := make([]string, 0, len(tooOld))
		for _, h := range tooOld {
			handles = append(handles, h)
		}
		if err := release(context.WithoutCancel(ctx), client, dlqURL, handles); err != nil {
			opts.Logger.Warn("messages left in the DLQ for their age are hidden until their visibility timeout ends", "err", err)
		}
	}()
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(dlqURL),
			MaxNumberOfMessages:         batchMax,
			VisibilityTimeout:           opts.VisibilityTimeout,
			WaitTimeSeconds:             opts.WaitTimeSeconds,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return res, fmt.Errorf("receive from %s: %w", dlqURL, err)
		}
		msgs := make([]types.Message, 0, len(out.Messages))
		now := opts.Now()
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if _, ok := tooOld[id]; ok {
				tooOld[id] = aws.ToString(m.ReceiptHandle)
				continue
			}
			if failed[id] {
				continue
			}
			if opts.MaxAge > 0 {
				sent, known := FirstSent(m)
				if age := now.Sub(sent); !known || age > opts.MaxAge {
					tooOld[id] = aws.ToString(m.ReceiptHandle)
					res.TooOld++
					if known && age > res.OldestTooOld {
						res.OldestTooOld = age
					}
					continue
				}
			}
			msgs = append(msgs, m)
		}
		if len(out.Messages) == 0 {
			return res, nil
		}
		if len(msgs) == 0 {
			opts.Progress(res.Progress)
			continue // only failed or too old ones, hidden again now; look past them
		}

		accepted, rejected, err := sendCopies(ctx, client, destURL, msgs)
		for _, m := range rejected {
			failed[aws.ToString(m.MessageId)] = true
		}
		res.Moved += int64(len(accepted))
		res.Failed += int64(len(rejected))
		if err != nil {
			opts.Progress(res.Progress)
			return res, err
		}
		deleteFailed, err := deleteOriginals(ctx, client, dlqURL, accepted)
		res.DeleteFailed += int64(deleteFailed)
		if deleteFailed > 0 {
			opts.Logger.Warn("copied messages not deleted from the DLQ; a later redrive moves them again",
				"messages", deleteFailed, "err", err)
		}
		opts.Progress(res.Progress)
		if err != nil {
			return res, err
		}
	}
}

// sendCopies sends a copy of each message to destURL and splits them into
// those the destination accepted and those it rejected. An error means the
// call itself failed; then every message counts as rejected.
func sendCopies(ctx context.Context, client Client, destURL string, msgs []types.Message) (accepted, rejected []types.Message, err error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = copyOf(strconv.Itoa(i), m)
	}
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(destURL), Entries: entries})
	if err != nil {
		return nil, msgs, fmt.Errorf("send %d messages to %s: %w", len(msgs), destURL, err)
	}
	ok := make(map[string]bool, len(out.Successful))
	for _, s := range out.Successful {
		ok[aws.ToString(s.Id)] = true
	}
	for i, m := range msgs {
		if ok[strconv.Itoa(i)] {
			accepted = append(accepted, m)
		} else {
			rejected = append(rejected, m)
		}
	}
	return accepted, rejected, nil
}

// copyOf is the send entry that recreates m: body, message attributes (with
// AttrFirstSentAt added, room permitting), AWSTraceHeader, and the FIFO
// group and deduplication ids.
func copyOf(id string, m types.Message) types.SendMessageBatchRequestEntry {
	e := types.SendMessageBatchRequestEntry{
		Id:                aws.String(id),
		MessageBody:       m.Body,
		MessageAttributes: withFirstSent(m),
	}
	if g, ok := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]; ok {
		e.MessageGroupId = aws.String(g)
	}
	if d, ok := m.Attributes[string(types.MessageSystemAttributeNameMessageDeduplicationId)]; ok {
		e.MessageDeduplicationId = aws.String(d)
	}
	if trace, ok := m.Attributes[string(types.MessageSystemAttributeNameAWSTraceHeader)]; ok {
		e.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: aws.String(trace)},
		}
	}
	return e
}

// deleteOriginals deletes msgs from the DLQ and returns how many were not
// deleted.
func deleteOriginals(ctx context.Context, client Client, dlqURL string, msgs []types.Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
	}
	out, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(dlqURL), Entries: entries})
	if err != nil {
		return len(msgs), fmt.Errorf("delete %d messages from %s: %w", len(msgs), dlqURL, err)
	}
	return len(out.Failed), nil
}
