package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/internal/local/rie"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// BenchmarkColdStart starts the consumer function (built for this machine,
// stripped as for Lambda) under the runtime interface emulator and times
// from the emulator's start to the first response, over a fresh process
// each op; it reports the median. Run with -benchtime=5x.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, "./functions/consumer")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	admin := awstest.DynamoDB(b)
	env := append(os.Environ(),
		"IDEMPOTENCY_TABLE="+awstest.NewTable(b, admin, awstest.IdempotencyTable),
		"LEDGER_TABLE="+awstest.NewTable(b, admin, awstest.LedgerTable),
		"LOG_LEVEL=ERROR")
	var times []time.Duration
	ctx := context.Background()
	i := 0
	for b.Loop() {
		payload, err := json.Marshal(bench.Batches(fmt.Sprintf("cold-%d", i), 1, 1, 1)[0])
		if err != nil {
			b.Fatal(err)
		}
		i++
		start := time.Now()
		em, err := rie.Start(ctx, rie.Config{Bootstrap: bootstrap, Env: env})
		if err != nil {
			b.Fatal(err)
		}
		out, err := em.Invoke(ctx, payload)
		times = append(times, time.Since(start))
		_ = em.Stop()
		if err != nil || !strings.Contains(string(out), `"batchItemFailures":[]`) {
			b.Fatalf("invoke: %v: %s", err, out)
		}
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "median-ms")
}
