package batch_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// TestEventFixtures runs every SQS event fixture of the repository (the files
// `sam local invoke -e` takes) through a processor, decoded with
// aws-lambda-go's own types, and checks that every failure names a record of
// the batch.
func TestEventFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "events", "*.json"))
	require.NoError(t, err)
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "env.json" }) // sam local's --env-vars
	require.NotEmpty(t, files, "no fixtures in events/")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var ev events.SQSEvent
			require.NoError(t, json.Unmarshal(data, &ev))
			require.NotEmpty(t, ev.Records, "a fixture holds at least one record")

			h := &scripted{}
			p := newProcessor(t, h.handle, batch.Config{})
			report, err := p.Process(context.Background(), ev)
			require.NoError(t, err)
			inBatch := batchIDs(ev)
			for _, id := range failed(report.Response) {
				require.Contains(t, inBatch, id)
			}
			require.Len(t, h.runs(), len(inBatch), "each unique record runs once")
			require.Equal(t, len(ev.Records), report.Counts.Records)
		})
	}
}

// batchIDs is the set of message IDs of a batch.
func batchIDs(ev events.SQSEvent) map[string]bool {
	ids := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		ids[r.MessageId] = true
	}
	return ids
}
