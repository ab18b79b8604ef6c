package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Store health as status reports it.
const (
	healthOK         = "ok"
	healthFailing    = "failing"
	healthNotChecked = "not checked"
)

// oldestAgeWindow is how far back status looks for the CloudWatch metric
// ApproximateAgeOfOldestMessage (SQS sends it every minute while the queue
// is active).
const oldestAgeWindow = 15 * time.Minute

// statusJSON is status's --output json.
type statusJSON struct {
	Function string        `json:"function"`
	Mappings []mappingJSON `json:"mappings"`
	Queues   []queueJSON   `json:"queues"`
	Store    storeJSON     `json:"store"`
}

// queueJSON is a mapped queue's depth. OldestAgeSeconds is null when
// CloudWatch has no data point (a quiet queue, or an endpoint without SQS
// metrics), never a made-up 0.
type queueJSON struct {
	Name             string `json:"name"`
	URL              string `json:"url"`
	Visible          int64  `json:"visible"`
	InFlight         int64  `json:"inFlight"`
	OldestAgeSeconds *int64 `json:"oldestMessageAgeSeconds"`
}

// storeJSON is the idempotency store's health.
type storeJSON struct {
	Kind   string `json:"kind"`             // dynamodb or redis
	Target string `json:"target,omitempty"` // the table, or the server's address
	Health string `json:"health"`           // ok, failing, not checked
	Detail string `json:"detail,omitempty"` // the error, or why not checked
}

// Template parameters status reads with --stack-name.
const (
	paramStore         = "IdempotencyStore"
	paramExistingTable = "ExistingIdempotencyTable"
	paramPartitionKey  = "IdempotencyPartitionKey"
	paramSortKey       = "IdempotencySortKey"
	paramShards        = "IdempotencyShards"
	paramTTLAttribute  = "IdempotencyTTLAttribute"
)

func runStatus(ctx context.Context, c cli, args []string) int {
	fs, awsf := newFlags(c, "status")
	var fn consumerFlags
	fn.register(fs)
	table := fs.String("table", "", "the DynamoDB idempotency table to probe (default: the stack's IdempotencyTableName)")
	redisURL := fs.String("redis-url", "", "probe this Valkey/Redis store instead (redis://host:port or rediss://user:password@host:port); without it a Valkey/Redis store is not checked")
	redisCluster := fs.Bool("redis-cluster", false, "with --redis-url: a cluster (cluster mode enabled)")
	output := registerOutput(fs)
	if code, ok := fn.parse(c, fs, args); !ok {
		return code
	}
	if *redisCluster && *redisURL == "" {
		return usageError(c, "status", "--redis-cluster goes with --redis-url")
	}
	sess, err := awsf.session(ctx)
	if err != nil {
		return failure(c, "status", err)
	}
	if err := fn.resolve(ctx, sess); err != nil {
		return failure(c, "status", err)
	}
	ms, err := mappings(ctx, sess.lambda(), fn.function)
	if err != nil {
		return failure(c, "status", err)
	}
	now := time.Now()
	out := statusJSON{Function: fn.function}
	seen := map[string]bool{}
	for _, m := range ms {
		out.Mappings = append(out.Mappings, m.toJSON("", now))
		if seen[m.EventSourceARN] {
			continue
		}
		seen[m.EventSourceARN] = true
		q, err := queueStatus(ctx, c, sess, m.EventSourceARN, now)
		if err != nil {
			return failure(c, "status", err)
		}
		out.Queues = append(out.Queues, q)
	}
	if out.Store, err = storeStatus(ctx, sess, &fn.stack, *table, *redisURL, *redisCluster); err != nil {
		return failure(c, "status", err)
	}
	if *output == outputJSON {
		if err := writeJSON(c.stdout, out); err != nil {
			return failure(c, "status", err)
		}
		return exitOK
	}
	printStatus(c.stdout, out)
	return exitOK
}

// queueStatus reads the depth of the queue whose ARN is arn, and the age of
// its oldest message from CloudWatch.
func queueStatus(ctx context.Context, c cli, sess session, arn string, now time.Time) (queueJSON, error) {
	q := queueJSON{Name: arnName(arn)}
	in := &sqs.GetQueueUrlInput{QueueName: aws.String(q.Name)}
	if account := arnField(arn, 4); account != "" {
		in.QueueOwnerAWSAccountId = aws.String(account)
	}
	client := sess.sqs()
	got, err := client.GetQueueUrl(ctx, in)
	if err != nil {
		return q, fmt.Errorf("find queue %s: %w", arn, err)
	}
	q.URL = aws.ToString(got.QueueUrl)
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: got.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		return q, fmt.Errorf("read the depth of %s: %w", q.URL, err)
	}
	q.Visible, _ = strconv.ParseInt(attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
	q.InFlight, _ = strconv.ParseInt(attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], 10, 64)

	stats, err := sess.cloudwatch().GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace:  aws.String("AWS/SQS"),
		MetricName: aws.String("ApproximateAgeOfOldestMessage"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(q.Name)}},
		StartTime:  aws.Time(now.Add(-oldestAgeWindow)),
		EndTime:    aws.Time(now),
		Period:     aws.Int32(60),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
	})
	if err != nil {
		fmt.Fprintf(c.stderr, "sqsonce status: oldest message of %s unknown: %v\n", q.Name, err)
		return q, nil
	}
	var latest *cwtypes.Datapoint
	for i, p := range stats.Datapoints {
		if p.Maximum != nil && (latest == nil || aws.ToTime(p.Timestamp).After(aws.ToTime(latest.Timestamp))) {
			latest = &stats.Datapoints[i]
		}
	}
	if latest != nil {
		age := int64(*latest.Maximum)
		q.OldestAgeSeconds = &age
	}
	return q, nil
}

// arnField is the i-th field of an ARN (4: the account).
func arnField(arn string, i int) string {
	if f := strings.SplitN(arn, ":", i+2); len(f) > i+1 {
		return f[i]
	}
	return ""
}

// storeStatus probes the idempotency store with sqsonce.CheckStore: Valkey
// or Redis with --redis-url, else the DynamoDB table of --table or the
// stack. A Valkey/Redis store without --redis-url is not checked: it is
// usually reachable only from inside its VPC.
func storeStatus(ctx context.Context, sess session, stack *stackFlags, table, redisURL string, cluster bool) (storeJSON, error) {
	probe := func(s storeJSON, store idempotency.Store, err error) storeJSON {
		if err == nil {
			err = sqsonce.CheckStore(ctx, store)
		}
		s.Health = healthOK
		if err != nil {
			s.Health, s.Detail = healthFailing, err.Error()
		}
		return s
	}
	if redisURL != "" {
		s := storeJSON{Kind: "redis", Target: redactURL(redisURL)}
		rdb, err := redisstore.Dial(redisURL, cluster)
		if err != nil {
			return s, err
		}
		defer rdb.Close()
		store, err := redisstore.New(ctx, rdb)
		return probe(s, store, err), nil
	}
	param := func(key string) string {
		v, _, err := stack.parameter(ctx, sess, key)
		if err != nil {
			return ""
		}
		return v
	}
	if kind := param(paramStore); kind == "redis" {
		return storeJSON{Kind: "redis", Health: healthNotChecked, Detail: "a Valkey/Redis store: give --redis-url (from where it is reachable) to check it"}, nil
	}
	s := storeJSON{Kind: "dynamodb", Target: table}
	if s.Target == "" && stack.name != "" {
		if err := stack.fill(ctx, sess, map[string]*string{outputIdempotencyTable: &s.Target}); err != nil {
			return s, err
		}
	}
	if s.Target == "" {
		s.Health, s.Detail = healthNotChecked, "give --table or --stack-name"
		return s, nil
	}
	var opts []dynamostore.Option
	if param(paramExistingTable) != "" { // a shared table: its layout is in the parameters
		shards, _ := strconv.Atoi(param(paramShards))
		opts = append(opts, dynamostore.WithLayout(dynamostore.Layout{
			KeyAttr: param(paramPartitionKey), SortKeyAttr: param(paramSortKey), Shards: shards, ExpirationAttr: param(paramTTLAttribute),
		}))
	}
	store, err := dynamostore.New(sess.dynamodb(), s.Target, opts...)
	return probe(s, store, err), nil
}

// redactURL drops a URL's password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func printStatus(w io.Writer, s statusJSON) {
	fmt.Fprintf(w, "consumer %s\n\n", s.Function)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAPPING\tQUEUE\tSTATE\tPAUSED BY\tPAUSED AT (FOR)\tREASON")
	for _, m := range s.Mappings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.UUID, m.Queue, m.State, m.pausedBy(), m.pausedFor(), dash(m.Reason))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tVISIBLE\tIN FLIGHT\tOLDEST MESSAGE")
	for _, q := range s.Queues {
		oldest := "unknown (no CloudWatch data point in the last 15m)"
		if q.OldestAgeSeconds != nil {
			oldest = (time.Duration(*q.OldestAgeSeconds) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", q.Name, q.Visible, q.InFlight, oldest)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	target := ""
	if s.Store.Target != "" {
		target = " " + s.Store.Target
	}
	detail := ""
	if s.Store.Detail != "" {
		detail = ": " + s.Store.Detail
	}
	fmt.Fprintf(w, "store %s%s: %s%s\n", s.Store.Kind, target, s.Store.Health, detail)
}
