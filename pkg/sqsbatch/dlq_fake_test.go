package sqsbatch_test

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// recordingSender is a sqsbatch.Sender that records its inputs and fails
// every send when err is set, or the sends failIf picks. With next set it
// forwards the sends that do not fail.
type recordingSender struct {
	err    error
	failIf func(*sqs.SendMessageInput) bool
	next   sqsbatch.Sender

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
