package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// pauseJSON is pause's and resume's --output json.
type pauseJSON struct {
	Function string        `json:"function"`
	Mappings []mappingJSON `json:"mappings"`
}

func runJSON[T any](t *testing.T, want int, args ...string) T {
	t.Helper()
	code, out, errOut := runCLI(t, "", append(args, "--output", "json")...)
	require.Equal(t, want, code, "%v: %s", args, errOut)
	var v T
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v
}

// consumerQueue is a queue with messages, and a function whose event
// source mapping reads it.
func consumerQueue(t *testing.T, messages int) (awstest.Queue, awstest.Function, string) {
	t.Helper()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	// With a Lambda endpoint of its own, the mapping reads a placeholder
	// queue there, so sending here invokes nothing (moto would, with Docker).
	if os.Getenv("AWS_ENDPOINT_URL_LAMBDA") != "" {
		for range messages {
			_, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(`{"id":"evt-1"}`)})
			require.NoError(t, err)
		}
	}
	fn := awstest.NewFunction(t)
	m := awstest.NewMapping(t, fn, q.ARN)
	return q, fn, aws.ToString(m.UUID)
}

// TestPauseResume: pause tags each mapping of the consumer (paused by the
// operator, when, why) and disables it; a second pause changes nothing; a
// pause of a mapping the consumer paused for a store outage makes it the
// operator's, so the probe does not resume it; resume enables the mappings
// and removes the tags, whoever paused them.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	_, fn, uuid := consumerQueue(t, 0)
	mapping := func() lambdaMapping { return lambdaMapping{t, uuid} }

	before := time.Now().UTC().Truncate(time.Second)
	got := runJSON[pauseJSON](t, exitOK, "pause", "--function-name", fn.Name, "--reason", "deploy 42")
	require.Len(t, got.Mappings, 1)
	require.Equal(t, actionPaused, got.Mappings[0].Action)
	require.Contains(t, []string{"Disabling", "Disabled"}, got.Mappings[0].State)
	require.Equal(t, sqsonce.PausedByOperator, got.Mappings[0].PausedBy)
	require.Equal(t, "Disabled", awstest.MappingState(t, uuid))
	tags := mapping().tags()
	require.Equal(t, sqsonce.PausedByOperator, tags[sqsonce.TagPausedBy])
	require.Equal(t, "deploy 42", tags[sqsonce.TagPausedReason])
	at, err := time.Parse(time.RFC3339, tags[sqsonce.TagPausedAt])
	require.NoError(t, err)
	require.WithinRange(t, at, before, time.Now().Add(time.Second))

	got = runJSON[pauseJSON](t, exitOK, "pause", "--function-name", fn.Name)
	require.Equal(t, actionAlreadyPaused, got.Mappings[0].Action)
	require.Equal(t, "deploy 42", mapping().tags()[sqsonce.TagPausedReason], "the first pause's reason stays")

	code, out, errOut := runCLI(t, "", "resume", "--function-name", fn.Name)
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, uuid+`\s+\S+\s+(Enabling|Enabled)\s+`+actionResumed, out)
	require.Equal(t, "Enabled", awstest.MappingState(t, uuid))
	for _, k := range pauseTags {
		require.NotContains(t, mapping().tags(), k)
	}
	got = runJSON[pauseJSON](t, exitOK, "resume", "--function-name", fn.Name)
	require.Equal(t, actionNotPaused, got.Mappings[0].Action)

	// As the consumer pauses itself on a store outage.
	mapping().pauseForOutage()
	got = runJSON[pauseJSON](t, exitOK, "pause", "--function-name", fn.Name, "--reason", "investigating the store")
	require.Equal(t, actionTakenOver, got.Mappings[0].Action)
	require.Equal(t, sqsonce.PausedByOperator, mapping().tags()[sqsonce.TagPausedBy], "the probe resumes only store-outage pauses")
	require.Equal(t, "Disabled", awstest.MappingState(t, uuid))

	mapping().pauseForOutage()
	got = runJSON[pauseJSON](t, exitOK, "resume", "--function-name", fn.Name)
	require.Equal(t, actionResumed, got.Mappings[0].Action, "resume resumes any pause")
	require.Equal(t, "Enabled", awstest.MappingState(t, uuid))
	require.NotContains(t, mapping().tags(), sqsonce.TagPausedBy)
}

// lambdaMapping acts on a mapping as the consumer does.
type lambdaMapping struct {
	t    *testing.T
	uuid string
}

func (m lambdaMapping) get() *lambda.GetEventSourceMappingOutput {
	out, err := awstest.Lambda(m.t).GetEventSourceMapping(context.Background(), &lambda.GetEventSourceMappingInput{UUID: aws.String(m.uuid)})
	require.NoError(m.t, err)
	return out
}

func (m lambdaMapping) tags() map[string]string {
	out, err := awstest.Lambda(m.t).ListTags(context.Background(), &lambda.ListTagsInput{Resource: m.get().EventSourceMappingArn})
	require.NoError(m.t, err)
	return out.Tags
}

// pauseForOutage tags and disables the mapping as a Handler that judged
// its store down does.
func (m lambdaMapping) pauseForOutage() {
	ctx := context.Background()
	api := awstest.Lambda(m.t)
	_, err := api.TagResource(ctx, &lambda.TagResourceInput{Resource: m.get().EventSourceMappingArn, Tags: map[string]string{
		sqsonce.TagPausedBy: sqsonce.PausedByStoreOutage, sqsonce.TagPausedAt: time.Now().UTC().Format(time.RFC3339), sqsonce.TagPausedReason: "store down",
	}})
	require.NoError(m.t, err)
	_, err = api.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(m.uuid), Enabled: aws.Bool(false)})
	require.NoError(m.t, err)
}

// TestStatus shows each mapping's state and who paused it, when, for how
// long and why, its queue's depth, an oldest message age of "unknown" where
// CloudWatch has no data (moto), and the store's health.
func TestStatus(t *testing.T) {
	t.Parallel()
	q, fn, uuid := consumerQueue(t, 3)
	db := awstest.DynamoDB(t)
	table := awstest.NewTable(t, db, awstest.IdempotencyTable)
	queued := 0
	if os.Getenv("AWS_ENDPOINT_URL_LAMBDA") != "" {
		queued = awstest.Visible(t, awstest.SQS(t), q.URL)
		require.GreaterOrEqual(t, queued, 3)
	}

	got := runJSON[statusJSON](t, exitOK, "status", "--function-name", fn.Name, "--table", table)
	require.Equal(t, fn.Name, got.Function)
	require.Len(t, got.Mappings, 1)
	require.Equal(t, mappingJSON{UUID: uuid, Queue: arnName(q.ARN), EventSourceARN: q.ARN, State: "Enabled"}, got.Mappings[0])
	require.Len(t, got.Queues, 1)
	require.Equal(t, q.URL, got.Queues[0].URL)
	require.Equal(t, int64(queued), got.Queues[0].Visible)
	require.Nil(t, got.Queues[0].OldestAgeSeconds, "no CloudWatch data is unknown, not 0")
	require.Equal(t, storeJSON{Kind: "dynamodb", Target: table, Health: healthOK}, got.Store)

	code, _, errOut := runCLI(t, "", "pause", "--function-name", fn.Name, "--reason", "deploy 42")
	require.Equal(t, exitOK, code, errOut)
	got = runJSON[statusJSON](t, exitOK, "status", "--function-name", fn.Name, "--table", table)
	m := got.Mappings[0]
	require.Equal(t, "Disabled", m.State)
	require.Equal(t, sqsonce.PausedByOperator, m.PausedBy)
	require.Equal(t, "deploy 42", m.Reason)
	require.NotNil(t, m.PausedAt)
	require.NotNil(t, m.PausedForSeconds)
	require.Less(t, *m.PausedForSeconds, int64(60))

	code, out, errOut := runCLI(t, "", "status", "--function-name", fn.Name)
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, uuid+`\s+`+arnName(q.ARN)+`\s+Disabled\s+operator\s+\S+ \(\d+s\)\s+deploy 42`, out)
	require.Regexp(t, arnName(q.ARN)+`\s+\d+\s+\d+\s+unknown`, out)
	require.Contains(t, out, "store dynamodb: not checked: give --table or --stack-name")

	got = runJSON[statusJSON](t, exitOK, "status", "--function-name", fn.Name, "--table", awstest.UniqueName("no-such-table"))
	require.Equal(t, healthFailing, got.Store.Health)
	require.Contains(t, got.Store.Detail, "ResourceNotFoundException")

	got = runJSON[statusJSON](t, exitOK, "status", "--function-name", fn.Name, "--redis-url", "redis://"+awstest.ClosedAddr(t))
	require.Equal(t, "redis", got.Store.Kind)
	require.Equal(t, healthFailing, got.Store.Health)
}

// newConsumerStack creates a stack with the outputs and parameters of
// template.yaml that pause, resume and status read.
func newConsumerStack(t *testing.T, functionARN, table, store string) string {
	t.Helper()
	ctx := context.Background()
	cf := cloudformation.NewFromConfig(awstest.Config(t))
	body := `
Parameters:
  Fn: {Type: String}
  Table: {Type: String}
  IdempotencyStore: {Type: String}
Resources:
  Queue: {Type: AWS::SQS::Queue}
Outputs:
  ConsumerFunctionArn: {Value: !Ref Fn}
  IdempotencyTableName: {Value: !Ref Table}
`
	name := awstest.UniqueName("stack")
	param := func(k, v string) cftypes.Parameter {
		return cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)}
	}
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(name), TemplateBody: aws.String(body),
		Parameters: []cftypes.Parameter{param("Fn", functionARN), param("Table", table), param(paramStore, store)},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(name)})
	})
	w := cloudformation.NewStackCreateCompleteWaiter(cf, func(o *cloudformation.StackCreateCompleteWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	require.NoError(t, w.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, time.Minute))
	return name
}

// TestPauseStatusStackName finds the consumer and its table from the
// stack's outputs, and leaves a Valkey/Redis store unchecked without
// --redis-url.
func TestPauseStatusStackName(t *testing.T) {
	t.Parallel()
	_, fn, uuid := consumerQueue(t, 0)
	db := awstest.DynamoDB(t)
	table := awstest.NewTable(t, db, awstest.IdempotencyTable)
	stack := newConsumerStack(t, fn.ARN, table, "dynamodb")

	runJSON[pauseJSON](t, exitOK, "pause", "--stack-name", stack)
	got := runJSON[statusJSON](t, exitOK, "status", "--stack-name", stack)
	require.Equal(t, fn.ARN, got.Function)
	require.Equal(t, uuid, got.Mappings[0].UUID)
	require.Equal(t, reasonDefault, got.Mappings[0].Reason)
	require.Equal(t, storeJSON{Kind: "dynamodb", Target: table, Health: healthOK}, got.Store)
	runJSON[pauseJSON](t, exitOK, "resume", "--stack-name", stack)
	require.Equal(t, "Enabled", awstest.MappingState(t, uuid))

	redis := newConsumerStack(t, fn.ARN, table, "redis")
	got = runJSON[statusJSON](t, exitOK, "status", "--stack-name", redis)
	require.Equal(t, healthNotChecked, got.Store.Health)
	require.Contains(t, got.Store.Detail, "--redis-url")
}

// TestPauseErrors: usage errors, and a function without mappings fails
// with no result and says what to give.
func TestPauseErrors(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"pause", "resume", "status"} {
		code, out, errOut := runCLI(t, "", cmd)
		require.Equal(t, exitUsage, code)
		require.Empty(t, out)
		require.Contains(t, errOut, "give --function-name or --stack-name")

		code, out, _ = runCLI(t, "", cmd, "--help")
		require.Equal(t, exitOK, code)
		for _, flag := range []string{"-function-name", "-stack-name", "-output", "-region", "-profile", "-endpoint-url"} {
			require.Regexp(t, `\n  `+flag+`[ \n]`, out, "%s takes %s", cmd, flag)
		}
	}
	code, _, errOut := runCLI(t, "", "pause", "--function-name", "f", "--reason", strings.Repeat("x", 257))
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "--reason must be 1 to 256 characters")

	fn := awstest.NewFunction(t)
	for _, cmd := range []string{"pause", "resume", "status"} {
		code, out, errOut := runCLI(t, "", cmd, "--function-name", fn.Name, "--output", "json")
		require.Equal(t, exitFailure, code)
		require.Empty(t, out)
		require.Contains(t, errOut, "has no event source mapping: give the consumer function")
	}
}
