package esm

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// drainAttributes are the approximate counts that must all be zero for the
// queue to be drained: visible, in flight, and delayed messages.
var drainAttributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// Drained reports whether the queue has no visible, in-flight or delayed
// messages and no poller of this Mapping holds a batch. The counts are SQS's
// approximations; RunUntilDrained asks for them to stay zero for a while.
func (m *Mapping) Drained(ctx context.Context) (bool, error) {
	if m.inFlight.Load() > 0 {
		return false, nil
	}
	out, err := m.cfg.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(m.cfg.QueueURL),
		AttributeNames: drainAttributes,
	})
	if err != nil {
		return false, fmt.Errorf("read counts of %s: %w", m.cfg.QueueURL, err)
	}
	for _, name := range drainAttributes {
		v := out.Attributes[string(name)]
		n, err := strconv.Atoi(v)
		if err != nil {
			return false, fmt.Errorf("read counts of %s: %s is %q", m.cfg.QueueURL, name, v)
		}
		if n != 0 {
			return false, nil
		}
	}
	return m.inFlight.Load() == 0, nil
}

// RunUntilDrained runs the Mapping until the queue has been drained (see
// Drained) continuously for idle, or ctx ends. Messages a function reported
// as failed count as in flight until they reappear, are retried, and are
// either deleted or moved to the dead-letter queue by its redrive policy, so
// a drained queue means all work is settled. It returns nil when drained,
// ctx.Err() when ctx ended first, and the error of Run or of reading the
// counts otherwise.
func (m *Mapping) RunUntilDrained(ctx context.Context, idle time.Duration) error {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(runCtx) }()

	ticker := time.NewTicker(m.cfg.DrainCheckInterval)
	defer ticker.Stop()
	var emptySince time.Time
	for {
		select {
		case err := <-runErr:
			if err != nil {
				return err
			}
			return ctx.Err()
		case <-ticker.C:
		}
		drained, err := m.Drained(runCtx)
		if err != nil {
			if ctx.Err() != nil {
				continue // Run is stopping; its result follows
			}
			stop()
			<-runErr
			return err
		}
		now := m.cfg.Now()
		switch {
		case !drained:
			emptySince = time.Time{}
		case emptySince.IsZero():
			emptySince = now
		}
		if drained && now.Sub(emptySince) >= idle {
			stop()
			if err := <-runErr; err != nil {
				return err
			}
			m.cfg.Logger.Info("queue drained", "stats", m.Stats())
			return nil
		}
	}
}
