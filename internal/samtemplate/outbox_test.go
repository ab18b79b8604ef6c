package samtemplate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/samtemplate"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// outboxResources are what NotifyBalanceChanges creates.
var outboxResources = []string{
	"BalanceChangedQueue", "BalanceChangedDLQ", "OutboxTable", "RelayLogGroup", "RelayRole", "RelayFunction",
	"RelayErrorsAlarm", "RelayIteratorAgeAlarm", "OutboxRefusedAlarm", "BalanceChangedDLQDepthAlarm", "OutboxDashboard",
}

// The outbox is off unless NotifyBalanceChanges is "true": every resource
// of it is conditional, the consumer's variables are empty, and the
// parameter needs the DynamoDB store.
func TestOutboxOffByDefault(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	p := param(t, tmpl, "NotifyBalanceChanges")
	require.Equal(t, "false", p.Default)
	require.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "NotifyBalanceChanges"}, "true"}}, tmpl.Conditions["Notify"])
	for _, id := range outboxResources {
		require.Equal(t, "Notify", tmpl.Resources[id].Condition, id)
	}
	for id, r := range tmpl.Resources {
		if r.Condition == "Notify" {
			require.Contains(t, outboxResources, id, "a resource of the outbox is listed")
		}
	}
	require.Contains(t, tmpl.Rules, "NotifyNeedsDynamoDBStore")
	off, err := consumer.LoadConfig(consumerEnv(t, tmpl, nil, map[string]bool{"CreateIdempotencyTable": true, "Notify": false}))
	require.NoError(t, err)
	require.Nil(t, off.Notify)
	on, err := consumer.LoadConfig(consumerEnv(t, tmpl, nil, map[string]bool{"CreateIdempotencyTable": true, "Notify": true}))
	require.NoError(t, err)
	require.NotNil(t, on.Notify)
	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	require.Equal(t, map[string]any{"Fn::If": []any{"Notify", map[string]any{"Ref": "BalanceChangedQueue"}, ""}}, vars["NOTIFY_QUEUE_URL"])
	require.Equal(t, map[string]any{"Fn::If": []any{"Notify", map[string]any{"Ref": "OutboxTable"}, ""}}, vars["OUTBOX_TABLE"])
}

// The relay reads the table the consumer writes, with the layout both
// default to, from a NEW_IMAGE stream whose mapping never skips an item
// and keeps each shard in order.
func TestRelayEventSource(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	table := tmpl.Resources["OutboxTable"].Properties
	def := outbox.Table{}.WithDefaults()
	require.Equal(t, []any{
		map[string]any{"AttributeName": def.PartitionKey, "KeyType": "HASH"},
		map[string]any{"AttributeName": def.SortKey, "KeyType": "RANGE"},
	}, table["KeySchema"])
	require.Equal(t, map[string]any{"AttributeName": def.TTLAttribute, "Enabled": true}, table["TimeToLiveSpecification"])
	require.Equal(t, map[string]any{"StreamViewType": "NEW_IMAGE"}, table["StreamSpecification"])

	relay := tmpl.FunctionProperties("RelayFunction")
	vars := obj(t, obj(t, relay, "Environment"), "Variables")
	require.Equal(t, map[string]any{"Ref": "OutboxTable"}, vars["OUTBOX_TABLE"])
	for name := range vars {
		require.Contains(t, []string{"OUTBOX_TABLE", "AWS_ENDPOINT_URL"}, name, "the relay reads %s (functions/relay)", name)
	}
	events := obj(t, tmpl.Resources["RelayFunction"].Properties, "Events")
	require.Len(t, events, 1)
	ev := obj(t, events, "OutboxStream")
	require.Equal(t, "DynamoDB", ev["Type"])
	props := obj(t, ev, "Properties")
	require.Equal(t, map[string]any{"Fn::GetAtt": []any{"OutboxTable", "StreamArn"}}, props["Stream"])
	require.Equal(t, "TRIM_HORIZON", props["StartingPosition"], "from the oldest item the stream holds")
	require.Equal(t, -1, props["MaximumRetryAttempts"], "retried until it succeeds")
	require.Equal(t, -1, props["MaximumRecordAgeInSeconds"], "never dropped for its age")
	require.Equal(t, 1, props["ParallelizationFactor"], "one batch per shard at a time: a group's items in order")
	require.Equal(t, true, props["BisectBatchOnFunctionError"])
	require.Equal(t, []any{"ReportBatchItemFailures"}, props["FunctionResponseTypes"])
	require.NotContains(t, props, "FilterCriteria", "a filter would drop items")
}

// The relay, with clients that record every IAM action, reads a real outbox
// stream (through the local stream mapping) and sends its items: each
// action it calls is granted by RelayRole, and that is all RelayRole grants
// beside Lambda's stream reads and logs.
func TestRelayCallsOnlyGrantedActions(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	ctx := context.Background()
	db, queues := awstest.DynamoDB(t), awstest.SQS(t)
	q := awstest.NewQueue(t, queues, awstest.QueueSpec{FIFO: true})
	ob := awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expiration"})
	upd, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(ob),
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage}})
	require.NoError(t, err)

	cfg, err := consumer.LoadConfig(consumerEnv(t, tmpl, map[string]string{"NotifyBalanceChanges": "true"}, map[string]bool{"CreateIdempotencyTable": true, "Notify": true}))
	require.NoError(t, err)
	cfg.IdempotencyTable, cfg.LedgerTable = awstest.NewTable(t, db, awstest.IdempotencyTable), awstest.NewTable(t, db, awstest.LedgerTable)
	cfg.Notify.QueueURL, cfg.Notify.Outbox.Name = q.URL, ob
	cfg.PauseOnStoreOutage = false // not what this test is about
	h, err := consumer.New(cfg, consumer.Clients{DynamoDB: db}, io.Discard)
	require.NoError(t, err)
	var ev events.SQSEvent
	for i := range 3 {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint(i), EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events",
			Body: fmt.Sprintf(`{"id":"evt-%d","account":"acc-%d","amount":100,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, i, i%2)})
	}
	_, err = h.Process(ctx, ev)
	require.NoError(t, err)

	rec := &recorder{names: map[string]string{ob: "OutboxTable", q.URL: "BalanceChangedQueue"}, calls: map[string][]string{}}
	relayCfg, err := relayEnv(tmpl, ob)
	require.NoError(t, err)
	relay, err := outbox.NewRelay(relayCfg, outbox.Clients{
		DynamoDB: awstest.DynamoDB(t, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, rec.option) }),
		SQS:      awstest.SQS(t, func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, rec.option) }),
	})
	require.NoError(t, err)
	m, err := esm.NewStream(esm.StreamConfig{StreamARN: aws.ToString(upd.TableDescription.LatestStreamArn),
		Client: dynamodbstreams.NewFromConfig(awstest.Config(t)), PollInterval: 20 * time.Millisecond,
		Invoker: esm.Handler(relay.Handle)})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- m.Run(runCtx) }()
	require.Eventually(t, func() bool { return m.Stats().Records == 6 }, time.Minute, 20*time.Millisecond, "3 inserts, 3 marked sent")
	cancel()
	require.NoError(t, <-done)

	recorded := rec.recorded()
	require.Equal(t, map[string][]string{"OutboxTable": {"dynamodb:UpdateItem"}, "BalanceChangedQueue": {"sqs:SendMessage"}}, recorded)
	grants := map[string][]string{}
	for _, p := range list(tmpl.Resources["RelayRole"].Properties["Policies"]) {
		for _, s := range list(obj(t, p.(map[string]any), "PolicyDocument")["Statement"]) {
			stmt := s.(map[string]any)
			for _, r := range list(stmt["Resource"]) {
				id, ok := samtemplate.LogicalID(r)
				if !ok {
					id = "*"
				}
				for _, a := range list(stmt["Action"]) {
					grants[id] = append(grants[id], a.(string))
				}
			}
		}
	}
	for res, actions := range recorded {
		for _, a := range actions {
			require.Contains(t, grants[res], a, "the relay calls %s on %s", a, res)
		}
	}
}

// relayEnv is the relay's configuration as the template sets its
// environment (functions/relay reads the same variables).
func relayEnv(tmpl interface{ FunctionProperties(string) map[string]any }, table string) (outbox.RelayConfig, error) {
	vars := tmpl.FunctionProperties("RelayFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if _, ok := vars["OUTBOX_TABLE"]; !ok {
		return outbox.RelayConfig{}, fmt.Errorf("the relay has no OUTBOX_TABLE")
	}
	return outbox.RelayConfig{Table: outbox.Table{Name: table}, Logger: slog.New(slog.DiscardHandler)}, nil
}

// The outbox's dashboard shows the relay's metrics by the names it writes.
func TestOutboxDashboard(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	sub := list(tmpl.Resources["OutboxDashboard"].Properties["DashboardBody"].(map[string]any)["Fn::Sub"])
	body := sub[0].(string)
	for _, metric := range []string{outbox.MetricSent, outbox.MetricRefused, outbox.MetricRetried, "IteratorAge", "Errors", "ApproximateNumberOfMessagesVisible"} {
		require.Contains(t, body, `"`+metric+`"`)
	}
	require.Contains(t, body, `["`+outbox.MetricsNamespace+`","`+outbox.MetricSent+`","FunctionName","${Relay}"]`)
	replaced := body
	for _, v := range []string{"${AWS::Region}", "${Relay}", "${Queue}", "${DLQ}"} {
		replaced = strings.ReplaceAll(replaced, v, "x")
	}
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(replaced), &doc), "the dashboard body is JSON")
}
