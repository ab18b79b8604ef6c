package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// runCLIEnv is runCLI with extra KEY=VALUE variables in the command's
// environment.
func runCLIEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	return runIn(t, "", append(os.Environ(), env...), args...)
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--version", "version"} {
		code, out, _ := runCLI(t, "", arg)
		require.Equal(t, exitOK, code)
		require.Regexp(t, `^sqsonce \S+.* go1\.\S+ \w+/\w+\n$`, out)
	}
}

// completedRecord writes a completed record for key through a guard on
// store, as a consumer would.
func completedRecord(t *testing.T, store idempotency.Store, prefix, key string) {
	t.Helper()
	guard, err := sqsonce.NewOnce[json.RawMessage](store, sqsonce.OnceConfig{KeyPrefix: prefix})
	require.NoError(t, err)
	_, _, err = guard.Do(context.Background(), key, []byte(`{"id":"`+key+`"}`), func(context.Context) (json.RawMessage, error) {
		return json.RawMessage(`{"applied":250}`), nil
	})
	require.NoError(t, err)
}

// TestInspectJSON is inspect --output json, found and not found.
func TestInspectJSON(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	table := awstest.NewTable(t, db, awstest.IdempotencyTable)
	store, err := dynamostore.New(db, table)
	require.NoError(t, err)
	completedRecord(t, store, "json-test", "evt-7")

	code, out, errOut := runCLI(t, "", "inspect", "--table", table, "--prefix", "json-test", "--output", "json", "evt-7")
	require.Equal(t, exitOK, code, errOut)
	var got inspectJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.True(t, got.Found)
	require.Equal(t, "COMPLETED", got.Status)
	require.Equal(t, idempotency.StoredKey("json-test", "evt-7"), got.StoredKey)
	require.JSONEq(t, `{"applied":250}`, string(got.Result))
	require.NotNil(t, got.Live)
	require.True(t, *got.Live)
	require.WithinDuration(t, time.Now().Add(idempotency.TTLDefault), *got.ExpiresAt, 5*time.Minute)

	code, out, _ = runCLI(t, "", "inspect", "--table", table, "--prefix", "json-test", "--output", "json", "evt-8")
	require.Equal(t, exitFailure, code)
	require.JSONEq(t, fmt.Sprintf(`{"key":"evt-8","storedKey":%q,"table":%q,"found":false}`, idempotency.StoredKey("json-test", "evt-8"), table), out)
}

// TestInspectSingleTable reads a record of a shared table with a composite
// key, the layout given by flags and by the consumer's environment.
func TestInspectSingleTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := awstest.DynamoDB(t)
	table := awstest.UniqueName("shared")
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	layout := dynamostore.Layout{KeyAttr: "pk", SortKeyAttr: "sk", Shards: 4, ExpirationAttr: "ttl"}
	store, err := dynamostore.New(db, table, dynamostore.WithLayout(layout))
	require.NoError(t, err)
	completedRecord(t, store, "payments", "evt-1")

	code, out, errOut := runCLI(t, "", "inspect", "--table", table, "--partition-key", "pk", "--sort-key", "sk", "--shards", "4", "--ttl-attribute", "ttl", "evt-1")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `status\s+COMPLETED`, out)
	require.Regexp(t, `expires at\s+\S+ \(in`, out, "the expiry read from the layout's TTL attribute")

	env := []string{"IDEMPOTENCY_PARTITION_KEY=pk", "IDEMPOTENCY_SORT_KEY=sk", "IDEMPOTENCY_SHARDS=4", "IDEMPOTENCY_TTL_ATTRIBUTE=ttl"}
	code, out, errOut = runCLIEnv(t, env, "inspect", "--table", table, "evt-1")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `status\s+COMPLETED`, out)

	code, out, _ = runCLI(t, "", "inspect", "--table", table, "evt-1")
	require.Equal(t, exitFailure, code, "the default layout does not find it:\n%s", out)
}

// TestAWSFlags checks --endpoint-url, --region and --profile win over the
// environment.
func TestAWSFlags(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	table := awstest.NewTable(t, db, awstest.IdempotencyTable)
	code, out, _ := runCLI(t, "", "inspect", "--table", table, "evt-1")
	require.Equal(t, exitFailure, code)
	require.Contains(t, out, "evt-1: not found", "the environment's endpoint and region find the table")

	closed := "http://" + awstest.ClosedAddr(t)
	code, _, errOut := runCLI(t, "", "inspect", "--table", table, "--endpoint-url", closed, "evt-1")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, strings.TrimPrefix(closed, "http://"), "--endpoint-url wins over AWS_ENDPOINT_URL*")

	code, _, errOut = runCLI(t, "", "inspect", "--table", table, "--region", "ap-southeast-2", "evt-1")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "ResourceNotFoundException", "--region wins over AWS_REGION: the table is not in that region")

	code, _, errOut = runCLI(t, "", "inspect", "--table", table, "--profile", "sqsonce-no-such-profile", "evt-1")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "sqsonce-no-such-profile")

	code, _, errOut = runCLI(t, "", "dlq", "--dlq-url", "http://example.invalid/q", "--endpoint-url", closed)
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, strings.TrimPrefix(closed, "http://"), "every command takes --endpoint-url")
}

// newStack creates a stack on the local CloudFormation with the outputs of
// template.yaml that the commands read: a queue with its DLQ, and a table
// name.
func newStack(t *testing.T, table string) (name string, queueURL, dlqURL string) {
	t.Helper()
	return newStackTTL(t, table, "")
}

// newStackTTL is newStack with the template's IdempotencyTTL parameter set
// to ttl, unless ttl is empty.
func newStackTTL(t *testing.T, table, ttl string) (name string, queueURL, dlqURL string) {
	t.Helper()
	ctx := context.Background()
	cf := cloudformation.NewFromConfig(awstest.Config(t))
	params := []cftypes.Parameter{{ParameterKey: aws.String("TableName"), ParameterValue: aws.String(table)}}
	ttlParam := ""
	if ttl != "" {
		ttlParam = "\n  " + stackTTLParameter + ": {Type: String}"
		params = append(params, cftypes.Parameter{ParameterKey: aws.String(stackTTLParameter), ParameterValue: aws.String(ttl)})
	}
	body := `
Parameters:
  TableName: {Type: String}` + ttlParam + `
Resources:
  DLQ: {Type: AWS::SQS::Queue}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DLQ.Arn, maxReceiveCount: 2}
Outputs:
  EventsQueueUrl: {Value: !Ref Queue}
  EventsDLQUrl: {Value: !Ref DLQ}
  IdempotencyTableName: {Value: !Ref TableName}
`
	name = awstest.UniqueName("stack")
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(name),
		TemplateBody: aws.String(body),
		Parameters:   params,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(name)})
	})
	w := cloudformation.NewStackCreateCompleteWaiter(cf, func(o *cloudformation.StackCreateCompleteWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	out, err := w.WaitForOutput(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, time.Minute)
	require.NoError(t, err)
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case outputQueue:
			queueURL = aws.ToString(o.OutputValue)
		case outputDLQ:
			dlqURL = aws.ToString(o.OutputValue)
		}
	}
	require.NotEmpty(t, queueURL)
	require.NotEmpty(t, dlqURL)
	return name, queueURL, dlqURL
}

// TestStackName runs every command on a stack's outputs: nobody copies a
// queue URL or a table name by hand.
func TestStackName(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	db := awstest.DynamoDB(t)
	table := awstest.NewTable(t, db, awstest.IdempotencyTable)
	store, err := dynamostore.New(db, table)
	require.NoError(t, err)
	completedRecord(t, store, consumer.KeyPrefixDefault, "evt-9")
	stack, queueURL, dlqURL := newStack(t, table)

	code, out, errOut := runCLI(t, "", "send", "--stack-name", stack, "--count", "5", "--seed", "1")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "sent 5 messages to "+queueURL)
	require.GreaterOrEqual(t, awstest.Visible(t, client, queueURL), 5, "sent to the stack's queue (at least once: a producer retries what it is not sure of)")

	code, out, errOut = runCLI(t, "", "inspect", "--stack-name", stack, "evt-9")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `status\s+COMPLETED`, out)

	_, err = client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(dlqURL), MessageBody: aws.String(`{"id":"evt-dead"}`)})
	require.NoError(t, err)
	code, out, errOut = runCLI(t, "", "dlq", "--stack-name", stack)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "1 messages in "+dlqURL)
	require.Contains(t, out, "evt-dead")

	code, out, errOut = runCLI(t, "", "redrive", "--stack-name", stack, "--method", "receive-send", "--output", "json", "--debug")
	require.Equal(t, exitOK, code, errOut)
	var res struct {
		From, To string
		Moved    int
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Equal(t, dlqURL, res.From)
	require.Equal(t, queueURL, res.To)
	require.Equal(t, 1, res.Moved, "%s\n%s", out, errOut)
	require.GreaterOrEqual(t, awstest.Visible(t, client, queueURL), 6, "moved to the stack's queue (at least once)")
	require.Zero(t, awstest.Visible(t, client, dlqURL), "the stack's DLQ is empty")

	code, _, errOut = runCLI(t, "", "dlq", "--stack-name", stack, "--fifo")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "has no output FifoEventsDLQUrl")

	code, _, errOut = runCLI(t, "", "dlq", "--stack-name", awstest.UniqueName("no-such-stack"))
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "read the outputs of stack")
}

// TestDLQ lists a DLQ's messages, classified or moved by the redrive
// policy, without consuming them.
func TestDLQ(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	// As the consumer sends a permanent failure (sqsonce.DLQ).
	_, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.DLQURL),
		MessageBody: aws.String(`{"id":"evt-1","amount":-5}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			ledger.AttrEventID:          str("evt-1"),
			sqsonce.AttrErrorClass:      str("invalid"),
			sqsonce.AttrError:           str("amount must be positive"),
			sqsonce.AttrSourceMessageID: str("src-1"),
		},
	})
	require.NoError(t, err)
	// As the redrive policy moves a body nobody could read.
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.DLQURL), MessageBody: aws.String(`{"id":"evt-2"`)})
	require.NoError(t, err)
	for i := range 12 {
		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.DLQURL), MessageBody: aws.String(fmt.Sprintf(`{"id":"evt-more-%d"}`, i))})
		require.NoError(t, err)
	}

	// 14 sends, each at least once (the SDK retries a send whose answer it lost).
	held := awstest.Visible(t, client, q.DLQURL)
	require.GreaterOrEqual(t, held, 14)
	// --debug: a failure shows the SDK's retries.
	code, out, errOut := runCLI(t, "", "dlq", "--dlq-url", q.DLQURL, "--output", "json", "--debug")
	require.Equal(t, exitOK, code, errOut)
	var got struct {
		Count    int        `json:"count"`
		Messages []dlqEntry `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Contains(t, errOut, "ReceiveMessage", "--debug logs the requests")
	require.Equal(t, held, got.Count, "all of them, past one receive's 10: %s\n%s", out, errOut)
	byEvent := map[string]dlqEntry{}
	for _, m := range got.Messages {
		require.NotEmpty(t, m.MessageID)
		require.Less(t, m.AgeSeconds, int64(600))
		require.False(t, m.SentAt.IsZero())
		byEvent[m.EventID] = m
	}
	require.Len(t, byEvent, 14, "one per message; the unreadable body has none")
	first := byEvent["evt-1"]
	require.Equal(t, viaConsumer, first.Via)
	require.Equal(t, "invalid", first.ErrorClass)
	require.Equal(t, "amount must be positive", first.Error)
	require.Equal(t, "src-1", first.SourceMessageID)
	require.Equal(t, 0, first.ReceiveCount, "not counting the listing's own receive")
	require.Equal(t, viaRedrivePolicy, byEvent[""].Via)

	require.Equal(t, held, awstest.Visible(t, client, q.DLQURL), "listing consumes nothing: every message is visible again")

	code, out, errOut = runCLI(t, "", "dlq", "--dlq-url", q.DLQURL, "--max", "3")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "3 messages in "+q.DLQURL+" (--max reached")
	require.Regexp(t, `MESSAGE ID\s+EVENT ID\s+VIA\s+CLASS\s+RECEIVES\s+AGE\s+REASON`, out)
}

// TestDemoOutsideCheckout fails with a message saying where the demo runs.
func TestDemoOutsideCheckout(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errOut := runCLI(t, "", "demo", "--events", "1", "--accounts", "1")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "runs only in a checkout of github.com/sqsonce/sqsonce")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n\ngo 1.26\n"), 0o600))
	code, _, errOut = runCLI(t, "", "demo", "--events", "1", "--accounts", "1")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, `is module "example.com/other"`)
}

// TestInterrupt sends SIGINT to the built command while it sends: it stops,
// says what it sent, and exits 130; its progress on a pipe is plain lines.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "sqsonce")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})

	const total = 200000
	cmd := exec.Command(bin, "send", "--queue-url", q.URL, "--count", strconv.Itoa(total), "--accounts", "10")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stderr)
	require.True(t, lines.Scan(), "a first progress line")
	require.Regexp(t, `^send: sent \d+/\d+$`, lines.Text(), "plain lines, no carriage return, when stderr is not a terminal")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 130, exit.ExitCode(), "stderr: %s", strings.Join(rest, "\n"))
	require.Contains(t, strings.Join(rest, "\n"), "sqsonce: interrupted (interrupt)")
	require.Regexp(t, `sent \d+ messages to `, stdout.String())
	require.Contains(t, stdout.String(), "not sent: ", "it says what it did not send")
}
