package batch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

func TestPermanent(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("handle order: %w", batch.Permanent(errBoom))
	require.True(t, batch.IsPermanent(err))
	require.ErrorIs(t, err, errBoom)
	var pe *batch.PermanentError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, errBoom, pe.Err)

	require.False(t, batch.IsPermanent(errBoom))
	require.False(t, batch.IsPermanent(nil))
	require.True(t, batch.IsPermanent(batch.Permanent(nil)), "Permanent(nil) is still a failure")
	require.NoError(t, batch.WithClass(nil, "x"))
	require.Empty(t, batch.ClassOf(nil))
}

// TestDLQErrorAttribute checks the error attribute stays valid for SQS:
// bounded length, valid UTF-8, no control characters.
func TestDLQErrorAttribute(t *testing.T) {
	t.Parallel()
	sender := &recordingSender{}
	long := strings.Repeat("é", batch.MaxErrorAttrBytes) + "\x00\xff"
	p := newProcessor(t, func(context.Context, events.SQSMessage) error {
		return batch.Permanent(batch.WithClass(errors.New(long), "validation"))
	}, batch.Config{DLQ: &batch.DLQ{Client: sender, FIFOQueueURL: "https://sqs/dlq.fifo"}})
	ev := fifo("m-1")
	ev.Records[0].Attributes = map[string]string{"MessageGroupId": "g"}
	report, err := p.Process(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, report.Response.BatchItemFailures)
	in := sender.inputs()[0]
	text := aws.ToString(in.MessageAttributes[batch.AttrError].StringValue)
	require.LessOrEqual(t, len(text), batch.MaxErrorAttrBytes)
	require.True(t, utf8.ValidString(text))
	require.NotContains(t, text, "\x00")
	require.Equal(t, "validation", aws.ToString(in.MessageAttributes[batch.AttrErrorClass].StringValue))
	require.Equal(t, "g", aws.ToString(in.MessageGroupId))
	require.Equal(t, "m-1", aws.ToString(in.MessageDeduplicationId))
}
