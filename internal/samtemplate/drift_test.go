package samtemplate_test

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/samtemplate"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// notAppliedLocally are template properties the init script leaves out on
// purpose, with the reason.
var notAppliedLocally = map[string]string{
	"DeletionProtectionEnabled": "a local table must be deletable; prod sets it with TableDeletionProtection",
}

// TestInitScriptMatchesTemplate runs localstack/init/ready.d/10-sqsonce.sh
// twice (it must be idempotent) against the local AWS with a fresh PREFIX,
// then checks through the SDK that every queue and table of template.yaml
// exists with the properties the template gives it. A template property the
// test does not know fails it, so a new property cannot be added to the
// template without the script and this test.
func TestInitScriptMatchesTemplate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqsClient := awstest.SQS(t)
	ddb := awstest.DynamoDB(t)
	tmpl := loadTemplate(t)
	prefix := awstest.UniqueName("drift")
	values := tmpl.Values(map[string]string{"Prefix": prefix})
	name := func(r samtemplate.Resource, property string) string {
		s, err := samtemplate.String(r.Properties[property], values)
		require.NoError(t, err)
		return s
	}

	queues := tmpl.ResourcesOfType("AWS::SQS::Queue")
	tables := tmpl.ResourcesOfType("AWS::DynamoDB::Table")
	require.NotEmpty(t, queues)
	require.NotEmpty(t, tables)
	t.Cleanup(func() {
		for _, q := range queues {
			out, err := sqsClient.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name(q, "QueueName"))})
			if err == nil {
				_, _ = sqsClient.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
		for _, tb := range tables {
			_, _ = ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name(tb, "TableName"))})
		}
	})

	for run := 1; run <= 2; run++ {
		out, err := runInitScript(t, prefix)
		require.NoError(t, err, "run %d of the init script:\n%s", run, out)
	}

	for id, q := range queues {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			checkQueue(t, sqsClient, tmpl, q, values)
		})
	}
	for id, tb := range tables {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			checkTable(t, ddb, tb, values)
		})
	}
}

// runInitScript runs the init script with PREFIX and the environment's
// endpoints; the script's own defaults hold for everything else.
func runInitScript(t *testing.T, prefix string) ([]byte, error) {
	t.Helper()
	env := []string{"PREFIX=" + prefix}
	hasEndpoint := false
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PREFIX", "MAX_RECEIVE_COUNT", "AWS_CLI":
			continue
		case "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB":
			hasEndpoint = hasEndpoint || v != ""
		}
		env = append(env, kv)
	}
	require.True(t, hasEndpoint, "the init script is for local endpoints: set AWS_ENDPOINT_URL (scripts/with-local-aws.sh does)")
	cmd := exec.Command("bash", filepath.Join(root, "localstack", "init", "ready.d", "10-sqsonce.sh"))
	cmd.Env = env
	return cmd.CombinedOutput()
}

func checkQueue(t *testing.T, client *sqs.Client, tmpl *samtemplate.Template, q samtemplate.Resource, values map[string]string) {
	ctx := context.Background()
	str := func(v any) string {
		s, err := samtemplate.String(v, values)
		require.NoError(t, err)
		return s
	}
	queueName := str(q.Properties["QueueName"])
	url, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queueName)})
	require.NoError(t, err, "queue %s exists", queueName)
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	require.NoError(t, err)
	attrs := out.Attributes
	require.True(t, strings.HasSuffix(attrs["QueueArn"], ":"+queueName))
	if _, fifo := q.Properties["FifoQueue"]; !fifo {
		require.NotEqual(t, "true", attrs["FifoQueue"])
	}
	for _, property := range sortedKeys(q.Properties) {
		v := q.Properties[property]
		switch property {
		case "QueueName":
		case "VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication":
			require.Equal(t, str(v), attrs[property], property)
		case "RedrivePolicy":
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(attrs[property]), &got), "RedrivePolicy %q", attrs[property])
			want := v.(map[string]any)
			target, ok := samtemplate.LogicalID(want["deadLetterTargetArn"])
			require.True(t, ok)
			dlq, ok := tmpl.Resources[target]
			require.True(t, ok, "resource %s", target)
			targetName := str(dlq.Properties["QueueName"])
			require.True(t, strings.HasSuffix(fmt.Sprint(got["deadLetterTargetArn"]), ":"+targetName),
				"redrives to %s, not %v", targetName, got["deadLetterTargetArn"])
			require.Equal(t, str(want["maxReceiveCount"]), fmt.Sprint(got["maxReceiveCount"]), "maxReceiveCount")
		case "RedriveAllowPolicy":
			raw, reported := attrs[property]
			if !reported {
				t.Logf("%s: the endpoint does not report RedriveAllowPolicy (moto 5.2.1 accepts and drops it)", queueName)
				continue
			}
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &got))
			want := v.(map[string]any)
			require.Equal(t, want["redrivePermission"], got["redrivePermission"])
			wantSources := list(want["sourceQueueArns"])
			gotSources := list(got["sourceQueueArns"])
			require.Len(t, gotSources, len(wantSources))
			for i, s := range wantSources {
				wantARN := str(s)
				require.True(t, strings.HasSuffix(fmt.Sprint(gotSources[i]), wantARN[strings.LastIndex(wantARN, ":"):]))
			}
		default:
			checkNotApplied(t, property)
		}
	}
}

func checkTable(t *testing.T, client *dynamodb.Client, tb samtemplate.Resource, values map[string]string) {
	ctx := context.Background()
	tableName, err := samtemplate.String(tb.Properties["TableName"], values)
	require.NoError(t, err)
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)})
	require.NoError(t, err, "table %s exists", tableName)
	table := desc.Table
	if _, ttl := tb.Properties["TimeToLiveSpecification"]; !ttl {
		out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tableName)})
		require.NoError(t, err)
		require.NotEqual(t, ddbtypes.TimeToLiveStatusEnabled, out.TimeToLiveDescription.TimeToLiveStatus)
	}
	for _, property := range sortedKeys(tb.Properties) {
		v := tb.Properties[property]
		switch property {
		case "TableName":
		case "BillingMode":
			require.NotNil(t, table.BillingModeSummary)
			require.Equal(t, v, string(table.BillingModeSummary.BillingMode))
		case "KeySchema":
			var got []any
			for _, k := range table.KeySchema {
				got = append(got, map[string]any{"AttributeName": aws.ToString(k.AttributeName), "KeyType": string(k.KeyType)})
			}
			require.Equal(t, v, got)
		case "AttributeDefinitions":
			var got []any
			for _, a := range table.AttributeDefinitions {
				got = append(got, map[string]any{"AttributeName": aws.ToString(a.AttributeName), "AttributeType": string(a.AttributeType)})
			}
			require.ElementsMatch(t, v, got)
		case "SSESpecification":
			require.Equal(t, true, v.(map[string]any)["SSEEnabled"])
			require.NotNil(t, table.SSEDescription, "SSE enabled")
			require.Equal(t, ddbtypes.SSEStatusEnabled, table.SSEDescription.Status)
		case "TimeToLiveSpecification":
			spec := v.(map[string]any)
			out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tableName)})
			require.NoError(t, err)
			require.Equal(t, spec["AttributeName"], aws.ToString(out.TimeToLiveDescription.AttributeName))
			require.Equal(t, true, spec["Enabled"])
			require.Contains(t, []ddbtypes.TimeToLiveStatus{ddbtypes.TimeToLiveStatusEnabled, ddbtypes.TimeToLiveStatusEnabling},
				out.TimeToLiveDescription.TimeToLiveStatus)
		case "StreamSpecification":
			spec := v.(map[string]any)
			require.NotNil(t, table.StreamSpecification, "table %s has a stream", tableName)
			require.True(t, aws.ToBool(table.StreamSpecification.StreamEnabled))
			require.Equal(t, spec["StreamViewType"], string(table.StreamSpecification.StreamViewType))
		case "PointInTimeRecoverySpecification":
			require.Equal(t, true, v.(map[string]any)["PointInTimeRecoveryEnabled"])
			out, err := client.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(tableName)})
			require.NoError(t, err)
			require.Equal(t, ddbtypes.PointInTimeRecoveryStatusEnabled,
				out.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus)
		default:
			checkNotApplied(t, property)
		}
	}
}

func checkNotApplied(t *testing.T, property string) {
	t.Helper()
	reason, ok := notAppliedLocally[property]
	require.True(t, ok, "template property %s is not checked: add it to localstack/init/ready.d/10-sqsonce.sh and this test", property)
	t.Logf("%s not applied locally: %s", property, reason)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
