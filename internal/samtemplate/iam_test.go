package samtemplate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/samtemplate"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// consumerSetup is one way the template deploys the consumer: the
// parameters that change what its role grants.
type consumerSetup struct {
	store string // IdempotencyStore: dynamodb or redis
	dlq   bool   // SendPermanentFailuresToDLQ
	pause bool   // PauseOnStoreOutage
	vpc   bool   // SubnetIds given
	// notify is NotifyBalanceChanges (with the DynamoDB store only).
	notify bool
}

func (c consumerSetup) String() string {
	return fmt.Sprintf("store=%s,dlq=%t,pause=%t,vpc=%t,notify=%t", c.store, c.dlq, c.pause, c.vpc, c.notify)
}

// conditions are the template's conditions under c, with the stack's own
// idempotency table (TestSharedIdempotencyTable checks a shared one).
func (c consumerSetup) conditions() map[string]bool {
	return map[string]bool{
		"DynamoDBStore": c.store == "dynamodb", "PermanentFailuresToDLQ": c.dlq, "PauseOnOutage": c.pause,
		"InVpc": c.vpc, "CreateIdempotencyTable": true, "Notify": c.notify,
	}
}

// Resources in consumerCalls and consumerGrants are logical IDs of the
// stack's resources, "*" (actions without resource-level permissions), or
// eventSourceMappings.
const eventSourceMappings = "event-source-mapping:*"

// lambdaCalls are the actions Lambda itself calls with the consumer's
// role, not the consumer's code: the event source mapping's, the logs', in
// a VPC the network interfaces' (vpcCalls), and X-Ray's (tracingCalls).
var lambdaCalls = slices.Concat([]string{
	"sqs:ReceiveMessage", "sqs:DeleteMessage", "logs:CreateLogStream", "logs:PutLogEvents",
}, vpcCalls, tracingCalls)

var vpcCalls = []string{
	"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
	"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
}

// tracingCalls are what Lambda calls with Tracing: Active (the invocation's
// segments), on "*": X-Ray has no resource-level permissions.
var tracingCalls = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

// consumerCalls is what the consumer calls in setup c, as IAM actions by
// resource: pkg/sqsonce's "IAM permissions" (per constructor and option)
// applied to the consumer's wiring (internal/consumer.New: NewDynamoDB on
// the DynamoDB store, New with ledger.ApplyOnce on Valkey/Redis; Backoff
// always, Base zero; DLQ and Pause as configured), plus lambdaCalls.
func consumerCalls(c consumerSetup) map[string][]string {
	queue := []string{
		"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", // the event source mapping
		"sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", // Config.Backoff (and GetQueueAttributes)
	}
	calls := map[string][]string{
		"ConsumerLogGroup": {"logs:CreateLogStream", "logs:PutLogEvents"},
		"EventsQueue":      queue,
		"FifoEventsQueue":  queue,
		// The entry's put and the balance's update, in TransactWriteItems.
		"LedgerTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
		"*":           tracingCalls,
	}
	if c.store == "dynamodb" {
		// NewDynamoDB: records put in the transactions; a record a
		// cancellation did not return, and the probe, read.
		calls["IdempotencyTable"] = []string{"dynamodb:PutItem", "dynamodb:GetItem"}
	}
	if c.notify {
		// Each notification's outbox item, in the event's transaction.
		calls["OutboxTable"] = []string{"dynamodb:PutItem"}
	}
	if c.dlq {
		calls["EventsDLQ"] = []string{"sqs:SendMessage"}
		calls["FifoEventsDLQ"] = []string{"sqs:SendMessage"}
	}
	if c.pause {
		calls["*"] = append(calls["*"], "lambda:ListEventSourceMappings")
		calls[eventSourceMappings] = []string{
			"lambda:UpdateEventSourceMapping", "lambda:TagResource", "lambda:UntagResource", "lambda:ListTags",
		}
	}
	if c.vpc {
		calls["*"] = append(calls["*"], vpcCalls...)
	}
	for r := range calls {
		calls[r] = sortedSet(calls[r])
	}
	return calls
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// consumerGrants is what the template's ConsumerRole allows under the
// conditions, as actions by resource (conditions on keys aside:
// TestPausePermissions checks those).
func consumerGrants(t *testing.T, tmpl *samtemplate.Template, conditions map[string]bool) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, p := range list(tmpl.Resources["ConsumerRole"].Properties["Policies"]) {
		for _, s := range list(obj(t, p.(map[string]any), "PolicyDocument")["Statement"]) {
			stmt, ok := evalIf(t, s, conditions).(map[string]any)
			if !ok {
				continue // AWS::NoValue
			}
			require.Equal(t, "Allow", stmt["Effect"])
			for _, r := range list(stmt["Resource"]) {
				res := grantResource(t, tmpl, evalIf(t, r, conditions))
				for _, a := range list(stmt["Action"]) {
					got[res] = append(got[res], a.(string))
				}
			}
		}
	}
	for r := range got {
		got[r] = sortedSet(got[r])
	}
	return got
}

// evalIf evaluates v's Fn::If, nested ones too, under conditions; nil for
// AWS::NoValue.
func evalIf(t *testing.T, v any, conditions map[string]bool) any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v
	}
	if ref, ok := m["Ref"]; ok && ref == "AWS::NoValue" {
		return nil
	}
	c, ok := m["Fn::If"].([]any)
	if !ok {
		return v
	}
	holds, known := conditions[c[0].(string)]
	require.True(t, known, "condition %s is not set", c[0])
	if holds {
		return evalIf(t, c[1], conditions)
	}
	return evalIf(t, c[2], conditions)
}

// grantResource names a statement's resource as consumerCalls does.
func grantResource(t *testing.T, tmpl *samtemplate.Template, r any) string {
	t.Helper()
	if id, ok := samtemplate.LogicalID(r); ok {
		return id
	}
	s := str(t, tmpl, r, nil)
	switch {
	case s == "*":
		return "*"
	case strings.HasSuffix(s, ":"+eventSourceMappings):
		return eventSourceMappings
	}
	require.Failf(t, "unknown resource", "%s", s)
	return ""
}

// The template's ConsumerRole grants exactly what the consumer calls, for
// every combination of the parameters that change it: nothing it does not
// call (least privilege), nothing it calls missing.
func TestConsumerRoleGrantsWhatEachConfigurationCalls(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	// The condition is the parameter it is named for.
	require.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "IdempotencyStore"}, "dynamodb"}}, tmpl.Conditions["DynamoDBStore"])
	stores := param(t, tmpl, "IdempotencyStore").AllowedValues
	require.ElementsMatch(t, []any{"dynamodb", "redis"}, stores)
	for _, store := range stores {
		for _, dlq := range []bool{false, true} {
			for _, pause := range []bool{false, true} {
				for _, vpc := range []bool{false, true} {
					for _, notify := range []bool{false, true} {
						if notify && store != "dynamodb" {
							continue // the rule NotifyNeedsDynamoDBStore
						}
						c := consumerSetup{store: store.(string), dlq: dlq, pause: pause, vpc: vpc, notify: notify}
						t.Run(c.String(), func(t *testing.T) {
							t.Parallel()
							require.Equal(t, consumerCalls(c), consumerGrants(t, tmpl, c.conditions()))
						})
					}
				}
			}
		}
	}
}

// recorder records the IAM actions a consumer's AWS clients call, by
// resource, with an SDK middleware that reads each request's input (the
// items of a TransactWriteItems are authorized one by one). While down is
// set, requests that touch the idempotency table fail before they are sent:
// a store outage.
type recorder struct {
	names map[string]string // table names, queue URLs and names -> logical ID
	down  atomic.Bool

	mu    sync.Mutex
	calls map[string][]string
}

var errStoreDown = errors.New("the idempotency table is down (test)")

// actions returns the actions one request calls, by resource.
func (r *recorder) actions(params any) map[string][]string {
	out := map[string][]string{}
	add := func(res *string, action string) {
		name := aws.ToString(res)
		if id, ok := r.names[name]; ok {
			name = id
		}
		out[name] = append(out[name], action)
	}
	star := aws.String("*")
	mappings := aws.String(eventSourceMappings)
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		add(in.TableName, "dynamodb:PutItem")
	case *dynamodb.UpdateItemInput:
		add(in.TableName, "dynamodb:UpdateItem")
	case *dynamodb.DeleteItemInput:
		add(in.TableName, "dynamodb:DeleteItem")
	case *dynamodb.GetItemInput:
		add(in.TableName, "dynamodb:GetItem")
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				add(it.Put.TableName, "dynamodb:PutItem")
			case it.Update != nil:
				add(it.Update.TableName, "dynamodb:UpdateItem")
			case it.Delete != nil:
				add(it.Delete.TableName, "dynamodb:DeleteItem")
			case it.ConditionCheck != nil:
				add(it.ConditionCheck.TableName, "dynamodb:ConditionCheckItem")
			}
		}
	case *sqs.SendMessageInput:
		add(in.QueueUrl, "sqs:SendMessage")
	case *sqs.SendMessageBatchInput:
		add(in.QueueUrl, "sqs:SendMessage")
	case *sqs.ChangeMessageVisibilityInput:
		add(in.QueueUrl, "sqs:ChangeMessageVisibility")
	case *sqs.ChangeMessageVisibilityBatchInput:
		add(in.QueueUrl, "sqs:ChangeMessageVisibility")
	case *sqs.GetQueueUrlInput:
		add(in.QueueName, "sqs:GetQueueUrl")
	case *sqs.GetQueueAttributesInput:
		add(in.QueueUrl, "sqs:GetQueueAttributes")
	case *lambda.ListEventSourceMappingsInput:
		add(star, "lambda:ListEventSourceMappings")
	case *lambda.UpdateEventSourceMappingInput:
		add(mappings, "lambda:UpdateEventSourceMapping")
	case *lambda.GetEventSourceMappingInput:
		add(mappings, "lambda:GetEventSourceMapping")
	case *lambda.TagResourceInput:
		add(mappings, "lambda:TagResource")
	case *lambda.UntagResourceInput:
		add(mappings, "lambda:UntagResource")
	case *lambda.ListTagsInput:
		add(mappings, "lambda:ListTags")
	default:
		add(star, fmt.Sprintf("unknown:%T", params)) // never granted: add it above
	}
	return out
}

// option installs the recorder on a client of any service.
func (r *recorder) option(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("sqsonceIAMRecorder",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			acts := r.actions(in.Parameters)
			r.mu.Lock()
			for res, a := range acts {
				r.calls[res] = sortedSet(append(r.calls[res], a...))
			}
			r.mu.Unlock()
			if _, idem := acts["IdempotencyTable"]; idem && r.down.Load() {
				return middleware.InitializeOutput{}, middleware.Metadata{}, errStoreDown
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (r *recorder) recorded() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.calls))
	for k, v := range r.calls {
		out[k] = slices.Clone(v)
	}
	return out
}

// The consumer, configured as the template configures it (DLQ sends and
// pausing on), runs against the local AWS through clients that record
// every IAM action it calls: new events, a duplicate in the batch and in a
// later one, an invalid body and a reused key (both sent to the DLQ), a
// store outage long enough to pause its event source mapping (records
// backed off), and the probe, failing and then resuming. Every action it
// called must be granted by the template for that configuration, and is
// what consumerCalls says it calls, so neither the code nor the template
// can drift from the other unseen.
func TestConsumerCallsOnlyGrantedActions(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	for _, store := range []string{"dynamodb", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			setup := consumerSetup{store: store, dlq: true, pause: true, notify: store == "dynamodb"}
			recorded := runRecordedConsumer(t, tmpl, setup)
			grants := consumerGrants(t, tmpl, setup.conditions())
			for res, actions := range recorded {
				for _, a := range actions {
					require.Contains(t, grants[res], a, "the consumer calls %s on %s: the template must grant it", a, res)
				}
			}
			// What the code calls is what the table says, apart from
			// Lambda's own calls and the FIFO queues, which the run does
			// not use.
			want := map[string][]string{}
			for res, actions := range consumerCalls(setup) {
				if strings.HasPrefix(res, "Fifo") || res == "ConsumerLogGroup" {
					continue
				}
				var own []string
				for _, a := range actions {
					if !slices.Contains(lambdaCalls, a) {
						own = append(own, a)
					}
				}
				want[res] = own
			}
			require.Equal(t, want, recorded)
		})
	}
}

// runRecordedConsumer runs the consumer in setup against the local AWS (and
// a Valkey/Redis server for the redis store), and returns the actions it
// called, by resource.
func runRecordedConsumer(t *testing.T, tmpl *samtemplate.Template, setup consumerSetup) map[string][]string {
	t.Helper()
	ctx := context.Background()
	db, queues := awstest.DynamoDB(t), awstest.SQS(t)
	ledgerTable := awstest.NewTable(t, db, awstest.LedgerTable)
	idemTable := awstest.NewTable(t, db, awstest.IdempotencyTable)
	q := awstest.NewQueue(t, queues, awstest.QueueSpec{})
	fn := awstest.NewFunction(t)
	mapping := aws.ToString(awstest.NewMapping(t, fn, q.ARN).UUID)
	rec := &recorder{
		names: map[string]string{
			ledgerTable: "LedgerTable", idemTable: "IdempotencyTable",
			q.URL: "EventsQueue", q.ARN[strings.LastIndex(q.ARN, ":")+1:]: "EventsQueue", q.DLQURL: "EventsDLQ",
		},
		calls: map[string][]string{},
	}

	overrides := map[string]string{"IdempotencyStore": setup.store, "SendPermanentFailuresToDLQ": "true", "PauseOnStoreOutage": "true",
		"NotifyBalanceChanges": fmt.Sprint(setup.notify)}
	clients := consumer.Clients{
		DynamoDB: awstest.DynamoDB(t, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, rec.option) }),
		Lambda:   awstest.Lambda(t, func(o *lambda.Options) { o.APIOptions = append(o.APIOptions, rec.option) }),
	}
	recSQS := awstest.SQS(t, func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, rec.option) })
	clients.DLQ, clients.Queues = recSQS, recSQS
	var redis *redistest.Server
	if setup.store == "redis" {
		redis = redistest.Start(t)
		overrides["RedisUrl"] = "redis://" + redis.Addr()
		clients.Redis = redis.Client()
	}
	cfg, err := consumer.LoadConfig(consumerEnv(t, tmpl, overrides, setup.conditions()))
	require.NoError(t, err)
	cfg.IdempotencyTable, cfg.LedgerTable = idemTable, ledgerTable
	cfg.PermanentDLQURL, cfg.PermanentFIFODLQ = q.DLQURL, ""
	cfg.FunctionName = fn.Name
	cfg.PauseAfter = time.Nanosecond // the second invocation that sees the store fail pauses
	require.Equal(t, setup.notify, cfg.Notify != nil, "NotifyBalanceChanges sets NOTIFY_QUEUE_URL")
	if setup.notify {
		cfg.Notify.Outbox.Name = awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})
		rec.names[cfg.Notify.Outbox.Name] = "OutboxTable"
	}
	h, err := consumer.New(cfg, clients, io.Discard)
	require.NoError(t, err)

	invoke := func(payload []byte) {
		t.Helper()
		_, err := h.Invoke(ctx, payload)
		require.NoError(t, err)
	}
	batch := func(bodies ...string) {
		t.Helper()
		ev, err := json.Marshal(receive(t, queues, q, bodies))
		require.NoError(t, err)
		invoke(ev)
	}
	event := func(id string, amount int) string {
		return fmt.Sprintf(`{"id":%q,"account":"acc-1","amount":%d,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, id, amount)
	}
	batch(event("evt-1", 100), event("evt-1", 100), event("evt-2", 250), "not json") // new, twin, new, invalid
	batch(event("evt-1", 100), event("evt-2", 999))                                  // duplicate, key reused with another payload

	// A store outage: the records fail by the store and are backed off; the
	// second invocation pauses the mapping; the probe keeps it paused while
	// the store fails and resumes it once it answers.
	down := func(d bool) {
		if redis == nil {
			rec.down.Store(d)
		} else if d {
			redis.Stop()
		} else {
			redis.Restart()
		}
	}
	down(true)
	batch(event("evt-3", 1))
	batch(event("evt-4", 1))
	require.Contains(t, []string{"Disabling", "Disabled"}, awstest.MappingState(t, mapping), "the outage paused the mapping")
	invoke([]byte(sqsonce.ProbeEvent))
	require.Contains(t, []string{"Disabling", "Disabled"}, awstest.MappingState(t, mapping), "the probe keeps the mapping paused while the store fails")
	down(false)
	invoke([]byte(sqsonce.ProbeEvent))
	require.Contains(t, []string{"Enabling", "Enabled"}, awstest.MappingState(t, mapping), "the probe resumed the mapping")
	return rec.recorded()
}

// receive sends bodies to q and receives them back as the SQS event Lambda
// would deliver.
func receive(t *testing.T, client *sqs.Client, q awstest.Queue, bodies []string) events.SQSEvent {
	t.Helper()
	ctx := context.Background()
	for _, b := range bodies {
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(b)})
		require.NoError(t, err)
	}
	var ev events.SQSEvent
	for deadline := time.Now().Add(30 * time.Second); len(ev.Records) < len(bodies); {
		require.True(t, time.Now().Before(deadline), "received %d of %d messages", len(ev.Records), len(bodies))
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		require.NoError(t, err)
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes,
				EventSource: "aws:sqs", EventSourceARN: q.ARN, AWSRegion: "us-east-1",
			})
		}
	}
	return ev
}
