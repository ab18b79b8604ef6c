package samtemplate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/samtemplate"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// pauseCondition is the condition under which the consumer may pause its
// event source mappings.
const pauseCondition = "PauseOnOutage"

// Pausing on a store outage is on by default and can be turned off; the
// consumer gets the switch and the delay as PAUSE_ON_STORE_OUTAGE and
// PAUSE_AFTER (a Go duration).
func TestPauseOnStoreOutageParameters(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	on := param(t, tmpl, "PauseOnStoreOutage")
	require.Equal(t, "true", on.Default)
	require.ElementsMatch(t, []any{"true", "false"}, on.AllowedValues)
	require.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "PauseOnStoreOutage"}, "true"}}, tmpl.Conditions[pauseCondition])
	after := param(t, tmpl, "PauseAfterSeconds")
	require.Equal(t, "Number", after.Type)
	require.NotNil(t, after.MinValue)
	require.Equal(t, 10.0, *after.MinValue, "a blip of a few seconds never pauses")

	vars := obj(t, obj(t, tmpl.FunctionProperties("ConsumerFunction"), "Environment"), "Variables")
	require.Equal(t, "PauseOnStoreOutage", refParam(t, tmpl, vars["PAUSE_ON_STORE_OUTAGE"]))
	for seconds, want := range map[string]time.Duration{"60": time.Minute, "10": 10 * time.Second, "900": 15 * time.Minute} {
		d, err := time.ParseDuration(str(t, tmpl, vars["PAUSE_AFTER"], map[string]string{"PauseAfterSeconds": seconds}))
		require.NoError(t, err, "PAUSE_AFTER is a Go duration")
		require.Equal(t, want, d)
	}

	// As the consumer reads them.
	created := map[string]bool{"CreateIdempotencyTable": true}
	cfg, err := consumer.LoadConfig(consumerEnv(t, tmpl, nil, created))
	require.NoError(t, err)
	require.True(t, cfg.PauseOnStoreOutage)
	require.Equal(t, time.Minute, cfg.PauseAfter)
	cfg, err = consumer.LoadConfig(consumerEnv(t, tmpl, map[string]string{"PauseOnStoreOutage": "false", "PauseAfterSeconds": "10"}, created))
	require.NoError(t, err)
	require.False(t, cfg.PauseOnStoreOutage)
	require.Equal(t, 10*time.Second, cfg.PauseAfter)
}

// A schedule invokes the consumer with the probe event every minute while
// pausing is on: it resumes paused mappings once the store answers, and
// spends no message.
func TestStoreProbeSchedule(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	ev := obj(t, obj(t, tmpl.Resources["ConsumerFunction"].Properties, "Events"), "StoreProbe")
	require.Equal(t, "Schedule", ev["Type"])
	props := obj(t, ev, "Properties")
	require.Equal(t, "rate(1 minute)", props["Schedule"])
	require.JSONEq(t, sqsonce.ProbeEvent, props["Input"].(string), "the event the consumer takes for a probe")
	require.Equal(t, "ENABLED", ifBranch(props["State"], pauseCondition, true))
	require.Equal(t, "DISABLED", ifBranch(props["State"], pauseCondition, false))
}

// The consumer may list event source mappings (an action without
// resource-level permissions), read and tag mappings with sqsonce's own tag
// keys, and update only the mappings of its own function; all of it only
// when pausing is on.
func TestPausePermissions(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	mappings := "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:*"
	consumerARN := "arn:aws:lambda:us-east-1:123456789012:function:" + str(t, tmpl, tmpl.Resources["ConsumerFunction"].Properties["FunctionName"], nil)
	type grant struct {
		resource  string
		condition map[string]any
	}
	got := map[string]grant{}
	for _, stmt := range conditionalStatements(t, tmpl, pauseCondition) {
		require.Equal(t, "Allow", stmt["Effect"])
		resources := list(stmt["Resource"])
		require.Len(t, resources, 1)
		resource := str(t, tmpl, resources[0], nil)
		var cond map[string]any
		if c, ok := stmt["Condition"]; ok {
			cond = samtemplate.Resolve(c, tmpl.Values(nil)).(map[string]any)
		}
		for _, a := range list(stmt["Action"]) {
			_, dup := got[a.(string)]
			require.False(t, dup, "%s granted once", a)
			got[a.(string)] = grant{resource, cond}
		}
	}
	ownMappings := map[string]any{"StringEquals": map[string]any{"lambda:FunctionArn": consumerARN}}
	sqsonceTags := map[string]any{"ForAllValues:StringLike": map[string]any{"aws:TagKeys": "sqsonce:*"}}
	want := map[string]grant{
		"lambda:ListEventSourceMappings":  {"*", nil},
		"lambda:UpdateEventSourceMapping": {mappings, ownMappings},
		"lambda:ListTags":                 {mappings, nil},
		"lambda:TagResource":              {mappings, sqsonceTags},
		"lambda:UntagResource":            {mappings, sqsonceTags},
	}
	require.Equal(t, want, got)
}
