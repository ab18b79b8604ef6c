package awstest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// scripts/serve_moto.py patches moto's internals as they are in the version
// it was written for; with any other version it refuses to start, saying
// what to install.
func TestServeMotoRefusesAnotherMotoVersion(t *testing.T) {
	t.Parallel()
	fake := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(fake, "moto"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fake, "moto", "__init__.py"), []byte(`__version__ = "4.0.0"`+"\n"), 0o644))
	cmd := exec.Command("python3", filepath.Join("..", "..", "..", "scripts", "serve_moto.py"), filepath.Join(fake, "port"))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+fake)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output: %s", out)
	require.NotZero(t, exit.ExitCode())
	require.Contains(t, string(out), "moto 4.0.0 is installed, but this script patches moto 5.2.1")
	require.NoFileExists(t, filepath.Join(fake, "port"))
}

// A FIFO group whose in-flight messages time out together (a failed batch)
// comes back in order, as SQS delivers it; moto 5.2.1 alone returns the
// last one first (scripts/serve_moto.py's ordered_fifo_redelivery).
func TestFIFORedeliveryKeepsGroupOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true})
	for _, body := range []string{"a", "b", "c"} {
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(q.URL), MessageBody: aws.String(body), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(body),
		})
		require.NoError(t, err)
	}
	receive := func(visibility int32) []string {
		// Long polling, until the timed-out messages are visible again.
		for {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, VisibilityTimeout: visibility, WaitTimeSeconds: 2,
			})
			require.NoError(t, err)
			if len(out.Messages) == 0 {
				continue
			}
			var bodies []string
			for _, m := range out.Messages {
				bodies = append(bodies, aws.ToString(m.Body))
			}
			return bodies
		}
	}
	// Received and not deleted: the batch failed; its messages time out
	// together after a second.
	require.Equal(t, []string{"a", "b", "c"}, receive(1))
	require.Equal(t, []string{"a", "b", "c"}, receive(60), "redelivered in the group's order")
}

// Concurrent receives of a FIFO queue never hand one group to two consumers:
// while the first receive's messages are in flight, the group's later
// messages stay in the queue (scripts/serve_moto.py's
// serialized_fifo_receives; moto's threaded server alone races).
func TestConcurrentFIFOReceivesLockTheGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.SQS(t)
	for round := range 5 {
		q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true})
		for start := 0; start < 50; start += 10 {
			var entries []sqstypes.SendMessageBatchRequestEntry
			for i := start; i < start+10; i++ {
				id := strconv.Itoa(i)
				entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
					Id: aws.String(id), MessageBody: aws.String(id), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(id),
				})
			}
			_, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
			require.NoError(t, err)
		}
		var mu sync.Mutex
		var got [][]string
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
				if !assert.NoError(t, err) || len(out.Messages) == 0 {
					return
				}
				var bodies []string
				for _, m := range out.Messages {
					bodies = append(bodies, aws.ToString(m.Body))
				}
				mu.Lock()
				got = append(got, bodies)
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Len(t, got, 1, "round %d: one receive holds the group, the others get nothing: %v", round, got)
		require.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, got[0], "round %d", round)
	}
}
