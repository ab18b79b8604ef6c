package bench_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/internal/bench"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// RoundTrip is the modelled and proxied round trip: 5 ms each way.
const RoundTrip = 10 * time.Millisecond

// BenchmarkThroughputModel drives each consumer on the modelled store
// (ModelDB: every call takes RoundTrip, calls run in parallel): what
// concurrency buys given each consumer's round trips. Run with
// -benchtime=1x; one op is the whole set of messages, over 10 accounts.
func BenchmarkThroughputModel(b *testing.B) {
	for _, size := range []int{10, 100} {
		for _, conc := range []int{1, 8} {
			n := min(max(size*conc*4, 400), 8000)
			for _, c := range bench.Consumers {
				b.Run(fmt.Sprintf("batch=%d/conc=%d/consumer=%s", size, conc, c), func(b *testing.B) {
					db := &bench.ModelDB{Latency: RoundTrip}
					h, err := bench.NewConsumer(c, db, bench.Tables{Idempotency: "idem", Ledger: "ledger"}, 0)
					if err != nil {
						b.Fatal(err)
					}
					drive(b, h, n, size, conc, 10, func() int64 { return db.Calls() })
				})
			}
		}
	}
}

// BenchmarkHotItem drives every message to one account, on a modelled
// store that refuses concurrent transactions on one item with
// TransactionConflict, as DynamoDB does: what a hot balance costs. Reports
// conflicts per message beside the throughput.
func BenchmarkHotItem(b *testing.B) {
	for _, conc := range []int{8, 32} {
		for _, c := range []bench.Consumer{bench.Baseline, bench.Default} {
			b.Run(fmt.Sprintf("batch=10/conc=%d/consumer=%s", conc, c), func(b *testing.B) {
				db := &bench.ModelDB{Latency: RoundTrip, Conflicts: true}
				h, err := bench.NewConsumer(c, db, bench.Tables{Idempotency: "idem", Ledger: "ledger"}, 0)
				if err != nil {
					b.Fatal(err)
				}
				var applied int
				before := db.Conflicted()
				for i := 0; b.Loop(); i++ {
					batches := bench.Batches(fmt.Sprintf("%s-%d", b.Name(), i), 400, 10, 1)
					run, _ := bench.Drive(context.Background(), h, batches, conc)
					applied += run.Messages - run.Failures
					b.ReportMetric(run.PerSecond(), "msgs/s")
					b.ReportMetric(float64(run.Failures)/float64(run.Messages), "failed/msg")
				}
				b.ReportMetric(float64(db.Conflicted()-before)/float64(max(applied, 1)), "conflicts/msg")
			})
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
		for _, conc := range []int{4} {
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
					drive(b, h, 200, size, conc, 10, func() int64 { return int64(counter.Total()) })
				})
			}
		}
	}
}

// drive runs n new messages per op over accounts and reports messages per
// second and requests per message.
func drive(b *testing.B, h bench.Handler, n, size, conc, accounts int, calls func() int64) {
	b.Helper()
	var elapsed time.Duration
	applied := 0
	before := calls()
	for i := 0; b.Loop(); i++ {
		batches := bench.Batches(fmt.Sprintf("%s-%d", b.Name(), i), n, size, accounts)
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
