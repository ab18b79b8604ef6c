package samtemplate_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/samtemplate"
)

// The contract other packages code against: logical IDs, types and names.
var contractResources = []struct {
	id, typ, name string // name with Prefix=acme
}{
	{"EventsQueue", "AWS::SQS::Queue", "acme-events"},
	{"EventsDLQ", "AWS::SQS::Queue", "acme-events-dlq"},
	{"FifoEventsQueue", "AWS::SQS::Queue", "acme-events.fifo"},
	{"FifoEventsDLQ", "AWS::SQS::Queue", "acme-events-dlq.fifo"},
	{"IdempotencyTable", "AWS::DynamoDB::Table", "acme-idempotency"},
	{"LedgerTable", "AWS::DynamoDB::Table", "acme-ledger"},
	{"ConsumerFunction", "AWS::Serverless::Function", "acme-consumer"},
	{"ProducerFunction", "AWS::Serverless::Function", "acme-producer"},
}

// queuePairs are the main queues and their DLQs.
var queuePairs = []struct {
	queue, dlq string
	fifo       bool
}{
	{"EventsQueue", "EventsDLQ", false},
	{"FifoEventsQueue", "FifoEventsDLQ", true},
}

func nameProperty(typ string) string {
	switch typ {
	case "AWS::SQS::Queue":
		return "QueueName"
	case "AWS::DynamoDB::Table":
		return "TableName"
	default:
		return "FunctionName"
	}
}

func TestTemplateIsSAMWithPrefix(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	require.Equal(t, "AWS::Serverless-2016-10-31", tmpl.Transform)
	require.Equal(t, "sqsonce", param(t, tmpl, "Prefix").Default)
}

func TestResourceNamesFollowPrefix(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	for _, tt := range contractResources {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			r, ok := tmpl.Resources[tt.id]
			require.True(t, ok)
			require.Equal(t, tt.typ, r.Type)
			name := r.Properties[nameProperty(tt.typ)]
			require.Equal(t, tt.name, str(t, tmpl, name, map[string]string{"Prefix": "acme"}))
			require.Equal(t, strings.Replace(tt.name, "acme", "sqsonce", 1), str(t, tmpl, name, nil))
		})
	}
}

func TestFunctionsAreGoOnArm64BuiltByMakefile(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	for _, id := range []string{"ConsumerFunction", "ProducerFunction", "RelayFunction"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			props := tmpl.FunctionProperties(id)
			require.Equal(t, "provided.al2023", props["Runtime"])
			require.Equal(t, []any{"arm64"}, props["Architectures"])
			require.Equal(t, "bootstrap", props["Handler"])
			require.Equal(t, ".", props["CodeUri"])
			require.Equal(t, "makefile", tmpl.Resources[id].Metadata["BuildMethod"])
			require.Contains(t, string(makefile), "\nbuild-"+id+":", "sam build calls make build-%s", id)
			require.NotContains(t, props, "Policies", "permissions come from the explicit Role")
			role, ok := samtemplate.LogicalID(props["Role"])
			require.True(t, ok, "Role is a GetAtt of a role in this template")
			require.Equal(t, "AWS::IAM::Role", tmpl.Resources[role].Type)
		})
	}
}

func TestFunctionEnvironment(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	type want struct {
		ref   string // a Ref to this resource
		value string // else this value with the parameters' defaults
	}
	tests := []struct {
		function string
		env      map[string]want
	}{
		{"ConsumerFunction", map[string]want{
			"IDEMPOTENCY_TABLE":      {ref: "IdempotencyTable"},
			"LEDGER_TABLE":           {ref: "LedgerTable"},
			"IDEMPOTENCY_KEY_PREFIX": {value: "payments"},
			"IDEMPOTENCY_TTL":        {value: "336h"},
			"KEY_SOURCE":             {value: "body-id"},
			"CONCURRENCY":            {value: "4"},
			"LOG_LEVEL":              {value: "INFO"},
			"AWS_ENDPOINT_URL":       {value: ""},
			"PAUSE_ON_STORE_OUTAGE":  {value: "true"},
			"PAUSE_AFTER":            {value: "60s"},
		}},
		{"ProducerFunction", map[string]want{
			"QUEUE_URL":      {ref: "EventsQueue"},
			"FIFO_QUEUE_URL": {ref: "FifoEventsQueue"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			t.Parallel()
			vars := obj(t, obj(t, tmpl.FunctionProperties(tt.function), "Environment"), "Variables")
			require.NotContains(t, vars, "COMPLETION_MODE", "one path per kind of effect")
			require.NotContains(t, vars, "CLAIM_AHEAD")
			for name, w := range tt.env {
				require.Contains(t, vars, name)
				if w.ref != "" {
					require.Equal(t, map[string]any{"Ref": w.ref}, createdOrExisting(vars[name]), name)
					continue
				}
				require.Equal(t, w.value, str(t, tmpl, vars[name], nil), name)
			}
		})
	}
}

// PERMANENT_DLQ_URL and PERMANENT_FIFO_DLQ_URL are empty unless
// SendPermanentFailuresToDLQ is "true", and then name the DLQ of the matching
// kind of queue (the DLQ of a FIFO queue must be FIFO).
func TestPermanentDLQURLsAreEmptyByDefault(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	for variable, want := range map[string]string{"PERMANENT_DLQ_URL": "EventsDLQ", "PERMANENT_FIFO_DLQ_URL": "FifoEventsDLQ"} {
		ifFn, ok := vars[variable].(map[string]any)["Fn::If"].([]any)
		require.True(t, ok, "%s is a Fn::If", variable)
		require.Len(t, ifFn, 3)
		require.Equal(t, "", ifFn[2], "empty when the condition is false")
		dlq, ok := samtemplate.LogicalID(ifFn[1])
		require.True(t, ok)
		require.Equal(t, want, dlq, variable)
		cond := tmpl.Conditions[ifFn[0].(string)]
		require.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SendPermanentFailuresToDLQ"}, "true"}}, cond)
	}
	require.Equal(t, "false", param(t, tmpl, "SendPermanentFailuresToDLQ").Default)
}

func TestConsumerEventSources(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	events := obj(t, tmpl.Resources["ConsumerFunction"].Properties, "Events")
	queues := map[string]map[string]any{}
	for name, e := range events {
		ev := e.(map[string]any)
		if name == "StoreProbe" {
			continue // TestStoreProbeSchedule
		}
		require.Equal(t, "SQS", ev["Type"], name)
		props := ev["Properties"].(map[string]any)
		queue, ok := samtemplate.LogicalID(props["Queue"])
		require.True(t, ok, "%s: Queue is a GetAtt of our queue", name)
		queues[queue] = props
	}
	require.Len(t, queues, 2)
	for _, pair := range queuePairs {
		t.Run(pair.queue, func(t *testing.T) {
			t.Parallel()
			props, ok := queues[pair.queue]
			require.True(t, ok, "the consumer is subscribed to %s", pair.queue)
			require.Equal(t, []any{"ReportBatchItemFailures"}, props["FunctionResponseTypes"])
			require.Equal(t, "BatchSize", refParam(t, tmpl, props["BatchSize"]))
			require.LessOrEqual(t, maxOf(t, tmpl, props["BatchSize"]), 10.0, "a FIFO source takes at most 10")
			require.Equal(t, "MaximumConcurrency", refParam(t, tmpl, obj(t, props, "ScalingConfig")["MaximumConcurrency"]))
			require.GreaterOrEqual(t, minOf(t, tmpl, obj(t, props, "ScalingConfig")["MaximumConcurrency"]), 2.0)
			if pair.fifo {
				require.NotContains(t, props, "MaximumBatchingWindowInSeconds", "FIFO sources take no batching window")
				return
			}
			require.Equal(t, "MaximumBatchingWindowInSeconds", refParam(t, tmpl, props["MaximumBatchingWindowInSeconds"]))
		})
	}
}

func TestQueuesRedriveToTheirDLQs(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	timeout := num(t, tmpl, tmpl.FunctionProperties("ConsumerFunction")["Timeout"])
	window := 0.0
	for _, e := range obj(t, tmpl.Resources["ConsumerFunction"].Properties, "Events") {
		props := e.(map[string]any)["Properties"].(map[string]any)
		if w, ok := props["MaximumBatchingWindowInSeconds"]; ok {
			window = max(window, maxOf(t, tmpl, w))
		}
	}
	for _, pair := range queuePairs {
		t.Run(pair.queue, func(t *testing.T) {
			t.Parallel()
			q := tmpl.Resources[pair.queue].Properties
			dlq := tmpl.Resources[pair.dlq].Properties

			redrive := obj(t, q, "RedrivePolicy")
			require.Equal(t, map[string]any{"Fn::GetAtt": []any{pair.dlq, "Arn"}}, redrive["deadLetterTargetArn"])
			require.GreaterOrEqual(t, minOf(t, tmpl, redrive["maxReceiveCount"]), 5.0, "MinValue of maxReceiveCount")
			require.GreaterOrEqual(t, num(t, tmpl, redrive["maxReceiveCount"]), 5.0, "default maxReceiveCount")

			require.Equal(t, 1209600.0, num(t, tmpl, dlq["MessageRetentionPeriod"]), "DLQ keeps 14 days")
			require.Less(t, num(t, tmpl, q["MessageRetentionPeriod"]), 1209600.0, "DLQ outlives its source")

			allow := obj(t, dlq, "RedriveAllowPolicy")
			require.Equal(t, "byQueue", allow["redrivePermission"])
			sources := list(allow["sourceQueueArns"])
			require.Len(t, sources, 1, "only the source queue may redrive into %s", pair.dlq)
			queueName := str(t, tmpl, q["QueueName"], nil)
			require.Equal(t, "arn:aws:sqs:us-east-1:123456789012:"+queueName, str(t, tmpl, sources[0], nil))

			for _, r := range []map[string]any{q, dlq} {
				require.Equal(t, true, r["SqsManagedSseEnabled"])
				if pair.fifo {
					require.Equal(t, true, r["FifoQueue"])
					require.Equal(t, false, r["ContentBasedDeduplication"], "the producer sets MessageDeduplicationId")
				} else {
					require.NotContains(t, r, "FifoQueue")
				}
			}

			require.GreaterOrEqual(t, num(t, tmpl, q["VisibilityTimeout"]), 6*timeout+window,
				"VisibilityTimeout >= 6 x function Timeout (%v) + largest batching window (%v)", timeout, window)
		})
	}
}

func TestTables(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	tests := []struct {
		id   string
		keys []any
		ttl  string
	}{
		{"IdempotencyTable", []any{
			map[string]any{"AttributeName": "id", "KeyType": "HASH"},
		}, "expiration"},
		{"LedgerTable", []any{
			map[string]any{"AttributeName": "account", "KeyType": "HASH"},
			map[string]any{"AttributeName": "entry", "KeyType": "RANGE"},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			p := tmpl.Resources[tt.id].Properties
			require.Equal(t, tt.keys, p["KeySchema"])
			var defs []any
			for _, k := range tt.keys {
				defs = append(defs, map[string]any{"AttributeName": k.(map[string]any)["AttributeName"], "AttributeType": "S"})
			}
			require.Equal(t, defs, p["AttributeDefinitions"])
			require.Equal(t, "PAY_PER_REQUEST", p["BillingMode"])
			require.Equal(t, true, obj(t, p, "PointInTimeRecoverySpecification")["PointInTimeRecoveryEnabled"])
			require.Equal(t, true, obj(t, p, "SSESpecification")["SSEEnabled"])
			require.Equal(t, "TableDeletionProtection", refParam(t, tmpl, p["DeletionProtectionEnabled"]))
			if tt.ttl == "" {
				require.NotContains(t, p, "TimeToLiveSpecification")
				return
			}
			require.Equal(t, map[string]any{"AttributeName": tt.ttl, "Enabled": true}, p["TimeToLiveSpecification"])
		})
	}
}

func TestIAMIsLeastPrivilege(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	// Role -> resource -> the exact actions allowed on it.
	want := map[string]map[string][]string{
		"ConsumerRole": {
			"ConsumerLogGroup": {"logs:CreateLogStream", "logs:PutLogEvents"},
			"EventsQueue":      {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
			"FifoEventsQueue":  {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
			"LedgerTable":      {"dynamodb:PutItem", "dynamodb:UpdateItem"},
			"*":                {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}, // Tracing: Active; X-Ray has no resource-level permissions
		},
		"ProducerRole": {
			"*":                {"xray:PutTelemetryRecords", "xray:PutTraceSegments"},
			"ProducerLogGroup": {"logs:CreateLogStream", "logs:PutLogEvents"},
			"EventsQueue":      {"sqs:SendMessage"},
			"FifoEventsQueue":  {"sqs:SendMessage"},
		},
		// TestRelayCallsOnlyGrantedActions checks these against the code.
		"RelayRole": {
			"RelayLogGroup": {"logs:CreateLogStream", "logs:PutLogEvents"},
			// Its stream (GetAtt StreamArn) for Lambda's mapping; the items
			// marked sent and failed by the relay.
			"OutboxTable":         {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:UpdateItem"},
			"BalanceChangedQueue": {"sqs:SendMessage"},
			"*":                   {"dynamodb:ListStreams", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}, // the stream mapping; Tracing: Active
		},
	}
	// The only actions granted on Resource "*": they take no resource (X-Ray
	// for Tracing: Active, ListStreams for the relay's stream mapping).
	noResource := []string{"dynamodb:ListStreams", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	roles := tmpl.ResourcesOfType("AWS::IAM::Role")
	require.Len(t, roles, len(want))
	for id, role := range roles {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			require.NotContains(t, role.Properties, "ManagedPolicyArns", "managed policies grant Resource *")
			got := map[string][]string{}
			for _, p := range list(role.Properties["Policies"]) {
				doc := obj(t, p.(map[string]any), "PolicyDocument")
				for _, s := range list(doc["Statement"]) {
					stmt := s.(map[string]any)
					if cond, ok := stmt["Fn::If"].([]any); ok {
						// Granted only under a condition: checked by
						// TestDLQSendOnlyWhenConfigured, TestVpcOnlyWhenConfigured,
						// TestPausePermissions and, for every combination,
						// TestConsumerRoleGrantsWhatEachConfigurationCalls.
						require.Contains(t, []any{"PermanentFailuresToDLQ", "InVpc", "PauseOnOutage", "DynamoDBStore", "Notify"}, cond[0])
						continue
					}
					require.Equal(t, "Allow", stmt["Effect"])
					require.NotContains(t, stmt, "NotAction")
					require.NotContains(t, stmt, "NotResource")
					for _, r := range list(stmt["Resource"]) {
						if r == "*" {
							for _, a := range list(stmt["Action"]) {
								require.Contains(t, noResource, a, "only actions without resource-level permissions take *")
								got["*"] = append(got["*"], a.(string))
							}
							continue
						}
						target, ok := samtemplate.LogicalID(createdOrExisting(r))
						if r == "*" {
							target, ok = "*", true // only X-Ray's actions: want says which
						}
						require.True(t, ok, "resource %v is a Ref/GetAtt of our own resource", r)
						require.True(t, target == "*" || tmpl.Resources[target].Type != "", "resource %s is the stack's", target)
						for _, a := range list(stmt["Action"]) {
							action := a.(string)
							require.NotContains(t, action, "*")
							got[target] = append(got[target], action)
						}
					}
				}
			}
			for target := range got {
				slices.Sort(got[target])
				got[target] = slices.Compact(got[target])
			}
			require.Equal(t, want[id], got)
		})
	}
}

func TestLogGroups(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	groups := tmpl.ResourcesOfType("AWS::Logs::LogGroup")
	require.Len(t, groups, 3)
	for _, fn := range []string{"ConsumerFunction", "ProducerFunction", "RelayFunction"} {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			props := tmpl.FunctionProperties(fn)
			cfg := obj(t, props, "LoggingConfig")
			group, ok := samtemplate.LogicalID(cfg["LogGroup"])
			require.True(t, ok)
			require.Contains(t, groups, group)
			p := groups[group].Properties
			require.Equal(t, "/aws/lambda/"+str(t, tmpl, props["FunctionName"], nil), str(t, tmpl, p["LogGroupName"], nil))
			require.Positive(t, num(t, tmpl, p["RetentionInDays"]))
		})
	}
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	tests := []struct {
		output, resource, attribute string // attribute "" for Ref
	}{
		{"EventsQueueUrl", "EventsQueue", ""},
		{"EventsDLQUrl", "EventsDLQ", ""},
		{"FifoEventsQueueUrl", "FifoEventsQueue", ""},
		{"FifoEventsDLQUrl", "FifoEventsDLQ", ""},
		{"IdempotencyTableName", "IdempotencyTable", ""},
		{"LedgerTableName", "LedgerTable", ""},
		{"ConsumerFunctionArn", "ConsumerFunction", "Arn"},
		{"ProducerFunctionArn", "ProducerFunction", "Arn"},
		{"BalanceChangedQueueUrl", "BalanceChangedQueue", ""},
		{"BalanceChangedDLQUrl", "BalanceChangedDLQ", ""},
		{"OutboxTableName", "OutboxTable", ""},
		{"RelayFunctionArn", "RelayFunction", "Arn"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.resource] = true
		t.Run(tt.output, func(t *testing.T) {
			t.Parallel()
			out, ok := tmpl.Outputs[tt.output]
			require.True(t, ok)
			want := any(map[string]any{"Ref": tt.resource})
			if tt.attribute != "" {
				want = map[string]any{"Fn::GetAtt": []any{tt.resource, tt.attribute}}
			}
			require.Equal(t, want, createdOrExisting(out.Value))
		})
	}
	require.Contains(t, tmpl.Outputs, "AlarmTopic")
	require.Contains(t, tmpl.Outputs, "DashboardName")
	for id, r := range tmpl.Resources {
		switch r.Type {
		case "AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::Serverless::Function":
			require.True(t, covered[id], "%s has an output", id)
		}
	}
}
