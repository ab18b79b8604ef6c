package esm_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
)

// switchLambda answers GetEventSourceMapping with a state the test sets.
type switchLambda struct {
	mu    sync.Mutex
	state string
}

func (l *switchLambda) set(state string) {
	l.mu.Lock()
	l.state = state
	l.mu.Unlock()
}

func (l *switchLambda) GetEventSourceMapping(_ context.Context, in *lambda.GetEventSourceMappingInput, _ ...func(*lambda.Options)) (*lambda.GetEventSourceMappingOutput, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &lambda.GetEventSourceMappingOutput{UUID: in.UUID, State: aws.String(l.state)}, nil
}

// A disabled mapping receives nothing, as Lambda stops polling it; once it
// is enabled again, polling resumes within the state check interval.
func TestDisabledMappingDoesNotPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue(3)
		rec := &timedRecorder{}
		state := &switchLambda{state: "Disabled"}
		m, err := esm.New(esm.Config{QueueURL: "mem", Client: q, Invokers: []esm.Invoker{rec}, WaitTimeSeconds: 1,
			Lambda: state, MappingUUID: "uuid", StateCheckInterval: time.Second})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Zero(t, m.Stats().Received, "nothing is received while the mapping is disabled")
		require.Positive(t, m.Stats().DisabledChecks)

		enabledAt := time.Now()
		state.set("Enabled")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.Equal(t, int64(3), m.Stats().Received, "polling resumes once the mapping is enabled")
		require.LessOrEqual(t, rec.at[0].Sub(enabledAt), time.Second, "within the state check interval")

		state.set("Disabling")
		time.Sleep(2 * time.Second)
		checks := m.Stats().DisabledChecks
		time.Sleep(10 * time.Second)
		require.Greater(t, m.Stats().DisabledChecks, checks, "a disabling mapping stops polling too")
		cancel()
		require.NoError(t, <-done)
	})
}

// Lambda and MappingUUID go together.
func TestMappingStateNeedsBothFields(t *testing.T) {
	_, err := esm.New(esm.Config{QueueURL: "mem", Client: newMemQueue(0), Invokers: []esm.Invoker{&timedRecorder{}}, MappingUUID: "uuid"})
	require.ErrorIs(t, err, esm.ErrInvalidConfig)
}
