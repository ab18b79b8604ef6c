package samtemplate_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/samtemplate"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

// The idempotency TTL is never shorter than the DLQs' retention (and so
// than the source queues'): a message can be redelivered, or redriven from
// its DLQ, for that long, and a redrive after its record expired would run
// its effect again.
func TestTTLCoversTheDLQsRetention(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	ttl, err := time.ParseDuration(param(t, tmpl, "IdempotencyTTL").Default.(string))
	require.NoError(t, err)
	for _, q := range []string{"EventsQueue", "FifoEventsQueue", "EventsDLQ", "FifoEventsDLQ"} {
		retention := time.Duration(num(t, tmpl, tmpl.Resources[q].Properties["MessageRetentionPeriod"])) * time.Second
		require.GreaterOrEqual(t, ttl, retention, "IdempotencyTTL's default against %s's retention", q)
	}
	require.GreaterOrEqual(t, ttl, 15*time.Minute+5*time.Second, "and at least the longest lease")
}

// The ledger (business data) survives the stack's deletion and a replacement.
func TestLedgerIsRetained(t *testing.T) {
	t.Parallel()
	r := loadTemplate(t).Resources["LedgerTable"]
	require.Equal(t, "Retain", r.DeletionPolicy)
	require.Equal(t, "Retain", r.UpdateReplacePolicy)
}

// The consumer may send to the DLQs only when permanent failures go there
// at once.
func TestDLQSendOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	conditional := conditionalStatements(t, tmpl, "PermanentFailuresToDLQ")
	require.Len(t, conditional, 1)
	stmt := conditional[0]
	require.Equal(t, []any{"sqs:SendMessage"}, list(stmt["Action"]))
	var targets []string
	for _, r := range list(stmt["Resource"]) {
		id, ok := samtemplate.LogicalID(r)
		require.True(t, ok)
		targets = append(targets, id)
	}
	slices.Sort(targets)
	require.Equal(t, []string{"EventsDLQ", "FifoEventsDLQ"}, targets)
}

// Lambda filters the functions' JSON logs at the LogLevel parameter too.
// The consumer writes its metrics (EMF lines) at LOG_LEVEL, which must
// therefore be the same parameter, each of whose values is a level both
// slog and Lambda name the same way (sqsonce.EMF.Level), so the metrics
// pass Lambda's filter at every level allowed.
func TestApplicationLogLevelFollowsLogLevel(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	for _, fn := range []string{"ConsumerFunction", "ProducerFunction"} {
		cfg := obj(t, tmpl.FunctionProperties(fn), "LoggingConfig")
		require.Equal(t, "JSON", cfg["LogFormat"], fn)
		require.Equal(t, "LogLevel", refParam(t, tmpl, cfg["ApplicationLogLevel"]), fn)
	}
	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	require.Equal(t, "LogLevel", refParam(t, tmpl, vars["LOG_LEVEL"]), "the metrics' level is the filter's")
	allowed := param(t, tmpl, "LogLevel").AllowedValues
	require.NotEmpty(t, allowed)
	for _, v := range allowed {
		var l slog.Level
		require.NoError(t, l.UnmarshalText([]byte(v.(string))))
		require.Equal(t, v, l.String(), "%v is written as Lambda reads it", v)
		require.Contains(t, []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}, v, "one of Lambda's levels")
	}
}

// The dashboard shows the consumer's own metrics by the names it writes,
// and the queues' and the function's.
func TestDashboard(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	sub := list(tmpl.Resources["Dashboard"].Properties["DashboardBody"].(map[string]any)["Fn::Sub"])
	body := sub[0].(string)
	for _, metric := range []string{
		"Executed", "Replayed", "AlreadyApplied", "Invalid", "PayloadMismatch", "InProgress", "StoreFailed", "Contended",
		"LeaseLost", "Breaker", "ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "Duration", "Errors",
		"ConsumerPaused", "Abandoned", "Deadline", "DLQFailed", "SentToDLQ",
	} {
		require.Contains(t, body, `"`+metric+`"`)
	}
	require.Contains(t, body, `["AWS/Lambda","Errors","FunctionName","${Producer}"]`, "the producer's errors")
	var doc map[string]any
	replaced := body
	for _, v := range []string{"${AWS::Region}", "${Fn}", "${Producer}", "${Queue}", "${FifoQueue}", "${DLQ}", "${FifoDLQ}"} {
		replaced = strings.ReplaceAll(replaced, v, "x")
	}
	require.NoError(t, json.Unmarshal([]byte(replaced), &doc), "the dashboard body is JSON")
}

// `sam local invoke -e events/X.json --env-vars events/env.json` passes a
// variable only if the function declares it: every one of env.json is.
func TestEnvFileVariablesAreDeclared(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "env.json"))
	require.NoError(t, err)
	var env map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &env))
	require.Contains(t, env, "ConsumerFunction")
	for fn, vars := range env {
		require.Contains(t, tmpl.Resources, fn)
		declared := obj(t, obj(t, tmpl.FunctionProperties(fn), "Environment"), "Variables")
		for name := range vars {
			require.Contains(t, declared, name, "%s declares %s", fn, name)
		}
	}
}

// `sam sync` and `sam deploy` of one environment use the same parameters
// (sam sync would otherwise fall back to the template's defaults).
func TestSamconfigSyncMatchesDeploy(t *testing.T) {
	t.Parallel()
	var cfg map[string]map[string]map[string]map[string]any
	_, err := toml.DecodeFile(filepath.Join("..", "..", "samconfig.toml"), &cfg)
	require.NoError(t, err)
	require.Contains(t, cfg, "default")
	require.Contains(t, cfg, "prod")
	tmpl := loadTemplate(t)
	for env, cmds := range cfg {
		if env == "version" {
			continue
		}
		t.Run(env, func(t *testing.T) {
			deploy := cmds["deploy"]["parameters"]["parameter_overrides"]
			require.NotNil(t, deploy)
			require.Equal(t, deploy, cmds["sync"]["parameters"]["parameter_overrides"])
			for _, kv := range deploy.([]any) {
				name, _, ok := strings.Cut(kv.(string), "=")
				require.True(t, ok)
				require.Contains(t, tmpl.Parameters, name)
			}
		})
	}
}

// conditionalStatements are the consumer role's statements granted only
// under condition.
func conditionalStatements(t *testing.T, tmpl *samtemplate.Template, condition string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range list(tmpl.Resources["ConsumerRole"].Properties["Policies"]) {
		for _, s := range list(obj(t, p.(map[string]any), "PolicyDocument")["Statement"]) {
			if c, ok := s.(map[string]any)["Fn::If"].([]any); ok && c[0] == condition {
				require.Equal(t, map[string]any{"Ref": "AWS::NoValue"}, c[2])
				out = append(out, c[1].(map[string]any))
			}
		}
	}
	return out
}

// The consumer runs in a VPC (to reach ElastiCache) only when subnets are
// given, and only then may it manage network interfaces.
func TestVpcOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	vpc := tmpl.FunctionProperties("ConsumerFunction")["VpcConfig"].(map[string]any)["Fn::If"].([]any)
	require.Equal(t, "InVpc", vpc[0])
	require.Equal(t, map[string]any{"Ref": "AWS::NoValue"}, vpc[2])
	require.Equal(t, "", param(t, tmpl, "SubnetIds").Default)
	stmts := conditionalStatements(t, tmpl, "InVpc")
	require.Len(t, stmts, 1)
	require.Contains(t, list(stmts[0]["Action"]), "ec2:CreateNetworkInterface")
	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	require.Equal(t, "dynamodb", str(t, tmpl, vars["IDEMPOTENCY_STORE"], nil))
}

// ifBranch evaluates {"Fn::If": [condition, then, else]} for the truth of
// condition; any other v (another condition's too) is returned as it is.
func ifBranch(v any, condition string, holds bool) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	c, ok := m["Fn::If"].([]any)
	if !ok || len(c) != 3 || c[0] != condition {
		return v
	}
	if holds {
		return c[1]
	}
	return c[2]
}

// The idempotency records can live in an existing, shared table: the stack
// then creates none, the consumer gets that table and its layout, and IAM
// grants the same two actions on it. The layout parameters cannot describe
// the table the stack creates.
func TestSharedIdempotencyTable(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	require.Equal(t, "", param(t, tmpl, "ExistingIdempotencyTable").Default)
	require.Equal(t, "CreateIdempotencyTable", tmpl.Resources["IdempotencyTable"].Condition)
	require.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "ExistingIdempotencyTable"}, ""}}, tmpl.Conditions["CreateIdempotencyTable"])
	require.Contains(t, tmpl.Rules, "LayoutOnlyWithExistingTable")

	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	require.Equal(t, map[string]any{"Ref": "ExistingIdempotencyTable"}, ifBranch(vars["IDEMPOTENCY_TABLE"], "CreateIdempotencyTable", false))
	require.Equal(t, map[string]any{"Ref": "ExistingIdempotencyTable"}, ifBranch(tmpl.Outputs["IdempotencyTableName"].Value, "CreateIdempotencyTable", false))

	var resources []any
	for _, st := range conditionalStatements(t, tmpl, "DynamoDBStore") {
		if st["Sid"] == "IdempotencyRecords" {
			resources = list(st["Resource"])
		}
	}
	require.Len(t, resources, 1)
	existing := ifBranch(resources[0], "CreateIdempotencyTable", false)
	require.Equal(t, "arn:aws:dynamodb:us-east-1:123456789012:table/shared-table", str(t, tmpl, existing, map[string]string{"ExistingIdempotencyTable": "shared-table"}))

	// The function's environment as CloudFormation would set it, read by the
	// consumer's own configuration loader.
	env := func(overrides map[string]string, sortKey bool) func(string) string {
		return consumerEnv(t, tmpl, overrides, map[string]bool{"CreateIdempotencyTable": false, "HasIdempotencySortKey": sortKey})
	}
	cfg, err := consumer.LoadConfig(env(map[string]string{"ExistingIdempotencyTable": "shared-table",
		"IdempotencyPartitionKey": "pk", "IdempotencySortKey": "sk", "IdempotencyShards": "8", "IdempotencyTTLAttribute": "ttl"}, true))
	require.NoError(t, err)
	require.Equal(t, "shared-table", cfg.IdempotencyTable)
	require.Equal(t, dynamostore.Layout{KeyAttr: "pk", SortKeyAttr: "sk", Shards: 8, ExpirationAttr: "ttl"}, cfg.Layout)

	cfg, err = consumer.LoadConfig(env(map[string]string{"ExistingIdempotencyTable": "plain-table"}, false))
	require.NoError(t, err, "the defaults (no sort key, so no shards) are a valid configuration")
	require.Equal(t, dynamostore.Layout{KeyAttr: "id", ExpirationAttr: "expiration"}, cfg.Layout)
}

// consumerEnv is the consumer's environment as CloudFormation would set it
// with the parameters' defaults and overrides, each Fn::If of conditions
// evaluated: a getenv for consumer.LoadConfig.
func consumerEnv(t *testing.T, tmpl *samtemplate.Template, overrides map[string]string, conditions map[string]bool) func(string) string {
	t.Helper()
	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	values := tmpl.Values(overrides)
	resources := map[string]string{ // Refs to the stack's own resources
		"LEDGER_TABLE": "ledger", "IDEMPOTENCY_TABLE": "sqsonce-idempotency",
	}
	if conditions["Notify"] {
		resources["NOTIFY_QUEUE_URL"] = "https://sqs.us-east-1.amazonaws.com/123456789012/sqsonce-balance-changed.fifo"
		resources["OUTBOX_TABLE"] = "sqsonce-outbox"
	}
	return func(name string) string {
		v, ok := vars[name]
		if !ok {
			return ""
		}
		for range conditions { // an Fn::If inside another's branch too
			for condition, holds := range conditions {
				v = ifBranch(v, condition, holds)
			}
		}
		s, err := samtemplate.String(v, values)
		if err != nil {
			return resources[name] // a resource's name, or a setting not needed here
		}
		return s
	}
}
