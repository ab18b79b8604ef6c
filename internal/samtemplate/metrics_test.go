package samtemplate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
)

// The consumer, configured as the template configures it, writes its
// metric lines at the LogLevel that is also its ApplicationLogLevel, for
// every level the template allows: Lambda's filter keeps them
// (batch.TestEMFPassesLambdaLogLevelFilter models the rule).
func TestConsumerMetricsAtTheTemplatesLogLevel(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	for _, level := range param(t, tmpl, "LogLevel").AllowedValues {
		t.Run(level.(string), func(t *testing.T) {
			t.Parallel()
			// Pausing is off: it would need a Lambda client, and is not what is shown here.
			overrides := map[string]string{"LogLevel": level.(string), "PauseOnStoreOutage": "false"}
			cfg, err := consumer.LoadConfig(consumerEnv(t, tmpl, overrides, map[string]bool{"CreateIdempotencyTable": true}))
			require.NoError(t, err)
			var out bytes.Buffer
			h, err := consumer.New(cfg, consumer.Clients{DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"})}, &out)
			require.NoError(t, err)
			_, err = h.Process(context.Background(), events.SQSEvent{}) // no record: no call to AWS, one metric line
			require.NoError(t, err)
			metricLines := 0
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var line map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
				if _, ok := line["_aws"]; !ok {
					continue
				}
				metricLines++
				require.Equal(t, level, line["level"], "%s", sc.Bytes())
			}
			require.Positive(t, metricLines)
		})
	}
}
