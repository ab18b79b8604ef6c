package awstest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
)

// scripts/serve_moto.py patches moto's internals as they are in the version
// it was written for; with any other version it refuses to start, saying
// what to install.
func TestServeMotoRefusesAnotherMotoVersion(t *testing.T) {
	t.Parallel()
	fake := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(fake, "moto"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fake, "moto", "__init__.py"), []byte(`__version__ = "4.0.0"`+"\n"), 0o644))
	cmd := exec.Command("python3", filepath.Join("..", "..", "scripts", "serve_moto.py"), filepath.Join(fake, "port"))
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
