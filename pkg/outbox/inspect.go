package outbox

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ScanAPI is the part of the DynamoDB client Inspect calls.
type ScanAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Summary is the state of an outbox: what waits, since when, and what its
// destinations refused.
type Summary struct {
	Pending       int       // items committed and not yet sent
	OldestPending time.Time // the creation of the oldest pending item; zero when none waits
	Sent          int       // items sent and not yet removed by the TTL
	Failed        []Item    // items refused for good, oldest first
}

// Inspect reads the whole outbox table (a Scan, consistent: an operator's
// command, not a hot path; a shared table is read whole too) and sums it
// up. Items of another kind (idempotency records) are skipped.
func Inspect(ctx context.Context, db ScanAPI, t Table) (Summary, []Item, error) {
	t = t.WithDefaults()
	var s Summary
	var all []Item
	pages := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(t.Name), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return Summary{}, nil, fmt.Errorf("scan outbox %s: %w", t.Name, err)
		}
		for _, raw := range out.Items {
			it, ok, err := t.ParseItem(raw)
			if !ok || err != nil {
				continue
			}
			all = append(all, it)
			switch it.Status {
			case StatusPending:
				s.Pending++
				if s.OldestPending.IsZero() || it.Created.Before(s.OldestPending) {
					s.OldestPending = it.Created
				}
			case StatusSent:
				s.Sent++
			case StatusFailed:
				s.Failed = append(s.Failed, it)
			}
		}
	}
	slices.SortFunc(s.Failed, func(a, b Item) int { return a.Created.Compare(b.Created) })
	return s, all, nil
}
