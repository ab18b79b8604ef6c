package batch_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// recordingSender is a batch.Sender that records its inputs and fails
// every send when err is set, or the sends failIf picks. With next set it
// forwards the sends that do not fail.
type recordingSender struct {
	err    error
	failIf func(*sqs.SendMessageInput) bool
	next   batch.Sender

	mu   sync.Mutex
	sent []*sqs.SendMessageInput
}

func (s *recordingSender) SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	s.mu.Lock()
	s.sent = append(s.sent, in)
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if s.failIf != nil && s.failIf(in) {
		return nil, errors.New("injected send failure")
	}
	if s.next != nil {
		return s.next.SendMessage(ctx, in, optFns...)
	}
	return &sqs.SendMessageOutput{}, nil
}

func (s *recordingSender) inputs() []*sqs.SendMessageInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sqs.SendMessageInput(nil), s.sent...)
}

// A record sent to the DLQ keeps when it was first sent: SQS gives the copy
// a SentTimestamp of its own, so the original's goes in AttrFirstSentAt,
// and a value the message carries already (from an earlier trip) is kept.
func TestDLQKeepsTheFirstSendTime(t *testing.T) {
	t.Parallel()
	sender := &recordingSender{}
	p := newProcessor(t, (&scripted{}).handle, batch.Config{DLQ: &batch.DLQ{Client: sender, QueueURL: "https://sqs.local/dlq"}})
	ev := standard("perm-1", "perm-2")
	ev.Records[0].Attributes = map[string]string{"SentTimestamp": "1700000000000"}
	ev.Records[1].Attributes = map[string]string{"SentTimestamp": "1800000000000"}
	ev.Records[1].MessageAttributes = map[string]events.SQSMessageAttribute{
		batch.AttrFirstSentAt: {DataType: "Number", StringValue: aws.String("1600000000000")},
	}
	_, err := p.Process(context.Background(), ev)
	require.NoError(t, err)
	got := map[string]string{}
	for _, in := range sender.inputs() {
		got[aws.ToString(in.MessageAttributes[batch.AttrSourceMessageID].StringValue)] = aws.ToString(in.MessageAttributes[batch.AttrFirstSentAt].StringValue)
	}
	require.Equal(t, map[string]string{"perm-1": "1700000000000", "perm-2": "1600000000000"}, got)
}
