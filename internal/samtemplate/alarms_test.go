package samtemplate_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/samtemplate"
)

// alarmTopic is what every alarm notifies: AlarmTopicArn, or the topic the
// stack creates.
var alarmTopic = map[string]any{"Fn::If": []any{"HasAlarmTopic", map[string]any{"Ref": "AlarmTopicArn"}, map[string]any{"Ref": "AlarmTopic"}}}

func TestAlarms(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	type key struct{ namespace, metric, target string }
	alarms := map[key]map[string]any{}
	for id, a := range tmpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		p := a.Properties
		dims := list(p["Dimensions"])
		require.Len(t, dims, 1, id)
		dim := dims[0].(map[string]any)
		target, ok := samtemplate.LogicalID(dim["Value"])
		if !ok {
			target = str(t, tmpl, dim["Value"], nil)
		}
		alarms[key{p["Namespace"].(string), p["MetricName"].(string), target}] = p
		require.Equal(t, []any{alarmTopic}, p["AlarmActions"], "%s notifies the alarm topic", id)
		require.Equal(t, []any{alarmTopic}, p["OKActions"], "%s says when it is over", id)
		require.Equal(t, "notBreaching", p["TreatMissingData"], id)
		require.True(t, strings.HasPrefix(str(t, tmpl, p["AlarmName"], nil), "sqsonce-"),
			"%s is named <Prefix>-..., as the alarm key's policy expects", id)
	}
	tests := []struct {
		namespace, metric, target string
		statistic                 string
		comparison                string
		threshold                 float64
	}{
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "EventsDLQ", "Maximum", "GreaterThanThreshold", 0},
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "FifoEventsDLQ", "Maximum", "GreaterThanThreshold", 0},
		{"AWS/SQS", "ApproximateAgeOfOldestMessage", "EventsQueue", "Maximum", "GreaterThanThreshold", 300},
		{"AWS/SQS", "ApproximateAgeOfOldestMessage", "FifoEventsQueue", "Maximum", "GreaterThanThreshold", 300},
		{"AWS/Lambda", "Errors", "ConsumerFunction", "Sum", "GreaterThanThreshold", 0},
		{"AWS/Lambda", "Throttles", "ConsumerFunction", "Sum", "GreaterThanThreshold", 0},
		{"AWS/Lambda", "Errors", "ProducerFunction", "Sum", "GreaterThanThreshold", 0},
		// The consumer's EMF metrics (sqsonce.Counts),
		// dimension FunctionName (consumer.Config).
		{"sqsonce", "StoreFailed", "sqsonce-consumer", "Sum", "GreaterThanThreshold", 0},
		{"sqsonce", "Breaker", "sqsonce-consumer", "Sum", "GreaterThanThreshold", 0},
		{"sqsonce", "Abandoned", "sqsonce-consumer", "Sum", "GreaterThanThreshold", 0},
		{"sqsonce", "Deadline", "sqsonce-consumer", "Sum", "GreaterThanThreshold", 0},
		{"sqsonce", "DLQFailed", "sqsonce-consumer", "Sum", "GreaterThanThreshold", 0},
		// 1 each minute while a mapping is paused: alarm in the first minute.
		{"sqsonce", "ConsumerPaused", "sqsonce-consumer", "Maximum", "GreaterThanOrEqualToThreshold", 1},
		// The outbox relay (NotifyBalanceChanges): its failures, a stuck or
		// slow stream (5 minutes behind), items refused for good (the
		// relay's EMF, outbox.MetricRefused), dead-lettered notifications.
		{"AWS/Lambda", "Errors", "RelayFunction", "Sum", "GreaterThanThreshold", 0},
		{"AWS/Lambda", "IteratorAge", "RelayFunction", "Maximum", "GreaterThanThreshold", 300000},
		{"sqsonce", "OutboxRefused", "sqsonce-relay", "Sum", "GreaterThanThreshold", 0},
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "BalanceChangedDLQ", "Maximum", "GreaterThanThreshold", 0},
	}
	for _, tt := range tests {
		t.Run(tt.target+"/"+tt.metric, func(t *testing.T) {
			t.Parallel()
			p, ok := alarms[key{tt.namespace, tt.metric, tt.target}]
			require.True(t, ok, "an alarm on %s of %s", tt.metric, tt.target)
			require.Equal(t, tt.statistic, p["Statistic"])
			require.Equal(t, tt.comparison, p["ComparisonOperator"])
			require.Equal(t, tt.threshold, num(t, tmpl, p["Threshold"]))
		})
	}
	require.Len(t, alarms, len(tests))
	require.Equal(t, "CreateAlarmTopic", tmpl.Resources["AlarmTopic"].Condition, "a topic is created when none is given")
}

// The operator paged for a paused consumer learns what to run.
func TestConsumerPausedAlarmSaysWhatToRun(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	p := tmpl.Resources["ConsumerPausedAlarm"].Properties
	require.Equal(t, 60.0, num(t, tmpl, p["Period"]))
	require.Equal(t, 1.0, num(t, tmpl, p["EvaluationPeriods"]))
	desc := str(t, tmpl, p["AlarmDescription"], map[string]string{"AWS::StackName": "payments-prod"})
	require.Contains(t, desc, "sqsonce status --stack-name payments-prod")
	require.Contains(t, desc, "sqsonce resume --stack-name payments-prod")
}

// CloudWatch can publish to the alarm topic: the topic is encrypted with the
// stack's own key (never the AWS-managed alias/aws/sns, whose policy
// CloudWatch cannot use), and that key's policy lets cloudwatch.amazonaws.com
// generate data keys and decrypt, for this account's alarms and this topic
// only, while the account keeps administering it.
func TestAlarmTopicKeyLetsCloudWatchPublish(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	topic := tmpl.Resources["AlarmTopic"].Properties
	require.NotEqual(t, "alias/aws/sns", topic["KmsMasterKeyId"], "CloudWatch cannot use the AWS-managed key")
	keyID, ok := samtemplate.LogicalID(topic["KmsMasterKeyId"])
	require.True(t, ok, "KmsMasterKeyId %v is the stack's own key", topic["KmsMasterKeyId"])
	key := tmpl.Resources[keyID]
	require.Equal(t, "AWS::KMS::Key", key.Type)
	require.Equal(t, "CreateAlarmTopic", key.Condition, "a key only with the topic it encrypts")
	require.Equal(t, true, key.Properties["EnableKeyRotation"])

	values := map[string]string{"Prefix": "acme"}
	var account, cloudwatch map[string]any
	for _, s := range list(obj(t, key.Properties, "KeyPolicy")["Statement"]) {
		stmt := s.(map[string]any)
		require.Equal(t, "Allow", stmt["Effect"])
		principal := obj(t, stmt, "Principal")
		switch {
		case principal["Service"] == "cloudwatch.amazonaws.com":
			cloudwatch = stmt
		case principal["AWS"] != nil:
			require.Equal(t, "arn:aws:iam::123456789012:root", str(t, tmpl, principal["AWS"], values))
			account = stmt
		default:
			require.Failf(t, "unexpected principal", "%v", principal)
		}
	}
	require.NotNil(t, account, "the account administers the key")
	require.Equal(t, "kms:*", account["Action"])

	require.NotNil(t, cloudwatch, "the key policy grants CloudWatch")
	require.ElementsMatch(t, []any{"kms:Decrypt", "kms:GenerateDataKey*"}, list(cloudwatch["Action"]))
	require.Equal(t, "*", cloudwatch["Resource"])
	cond := obj(t, cloudwatch, "Condition")
	equals := obj(t, cond, "StringEquals")
	require.Equal(t, "123456789012", str(t, tmpl, equals["aws:SourceAccount"], values))
	topicARN := "arn:aws:sns:us-east-1:123456789012:" + str(t, tmpl, topic["TopicName"], values)
	require.Equal(t, topicARN, str(t, tmpl, equals["kms:EncryptionContext:aws:sns:topicArn"], values), "this topic only")
	pattern := str(t, tmpl, obj(t, cond, "ArnLike")["aws:SourceArn"], values)
	require.Equal(t, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:acme-*", pattern)
	for id, a := range tmpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		name := str(t, tmpl, a.Properties["AlarmName"], values)
		require.True(t, strings.HasPrefix("arn:aws:cloudwatch:us-east-1:123456789012:alarm:"+name, strings.TrimSuffix(pattern, "*")),
			"%s (%s) may use the key", id, name)
	}
}
