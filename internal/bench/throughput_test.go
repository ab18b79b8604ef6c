package bench_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/internal/awstest"
	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/pkg/ledger"
)

// RoundTrip is the modelled and proxied round trip: 5 ms each way.
const RoundTrip = 10 * time.Millisecond

// BenchmarkThroughputModel drives each consumer on the modelled store
// (ModelDB: every call takes RoundTrip, calls run in parallel): what
// concurrency buys given each mode's round trips. Run with -benchtime=1x;
// one op is the whole set of messages.
func BenchmarkThroughputModel(b *testing.B) {
	for _, size := range []int{10, 100, 1000} {
		for _, conc := range []int{1, 8, 32} {
			n := min(max(size*conc*2, 400), 32000)
			for _, c := range bench.Consumers {
				b.Run(fmt.Sprintf("batch=%d/conc=%d/consumer=%s", size, conc, c), func(b *testing.B) {
					db := &bench.ModelDB{Latency: RoundTrip}
					h, err := bench.NewConsumer(c, db, bench.Tables{Idempotency: "idem", Ledger: "ledger"}, 0)
					if err != nil {
						b.Fatal(err)
					}
					drive(b, h, n, size, conc, func() int64 { return db.Calls() })
				})
			}
		}
	}
}

// BenchmarkThroughputMoto drives each consumer against moto behind a proxy
// adding 5 ms each way, on fresh small tables. moto serves one request at a
// time: compare consumers of the same run only (the ratio), never the
// absolute figures. Concurrency stops at 4: past that, requests queue at
// moto beyond the guard's 2 s FinishTimeout. Run with -benchtime=1x.
func BenchmarkThroughputMoto(b *testing.B) {
	proxy, err := bench.StartLatencyProxy(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), RoundTrip/2)
	if err != nil {
		b.Fatal(err)
	}
	defer proxy.Close()
	for _, size := range []int{10, 100} {
		for _, conc := range []int{1, 4} {
			for _, c := range bench.Consumers {
				b.Run(fmt.Sprintf("batch=%d/conc=%d/consumer=%s", size, conc, c), func(b *testing.B) {
					admin := awstest.DynamoDB(b)
					tables := bench.Tables{
						Idempotency: awstest.NewTable(b, admin, awstest.IdempotencyTable),
						Ledger:      awstest.NewTable(b, admin, awstest.LedgerTable),
					}
					counter := awstest.NewRequestCounter()
					db := awstest.DynamoDB(b, counter.Option, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL()) })
					h, err := bench.NewConsumer(c, db, tables, 0)
					if err != nil {
						b.Fatal(err)
					}
					drive(b, h, 200, size, conc, func() int64 { return int64(counter.Total()) })
				})
			}
		}
	}
}

// drive runs n new messages per op and reports messages per second and
// requests per message.
func drive(b *testing.B, h ledger.Handler, n, size, conc int, calls func() int64) {
	b.Helper()
	var elapsed time.Duration
	applied := 0
	before := calls()
	for i := 0; b.Loop(); i++ {
		batches := bench.Batches(fmt.Sprintf("%s-%d", b.Name(), i), n, size, 50)
		run, err := bench.Drive(context.Background(), h, batches, conc)
		if err != nil || run.Failures > 0 {
			b.Fatalf("%d of %d messages failed: %v", run.Failures, run.Messages, err)
		}
		elapsed += run.Elapsed
		applied += run.Messages
	}
	b.ReportMetric(float64(applied)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(calls()-before)/float64(applied), "reqs/msg")
}
