package samtemplate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/telemetry"
)

// Both functions run with X-Ray active tracing, and send OpenTelemetry spans
// only when OtlpEndpoint is given (TRACING=otlp, to that endpoint); by
// default TRACING is off, a value the functions accept. The ADOT layer is
// added only when AdotLayerArn is given.
func TestTracing(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	require.Equal(t, "Active", tmpl.Globals["Function"].(map[string]any)["Tracing"])
	require.Empty(t, param(t, tmpl, "OtlpEndpoint").Default, "no spans unless asked for")
	require.Empty(t, param(t, tmpl, "AdotLayerArn").Default)
	require.Equal(t, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "OtlpEndpoint"}, ""}}}},
		tmpl.Conditions["OtlpTracing"])
	require.Equal(t, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AdotLayerArn"}, ""}}}},
		tmpl.Conditions["HasAdotLayer"])
	for _, fn := range []string{"ConsumerFunction", "ProducerFunction"} {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			props := tmpl.FunctionProperties(fn)
			require.Equal(t, "Active", props["Tracing"])
			require.Equal(t, map[string]any{"Fn::If": []any{"HasAdotLayer", []any{map[string]any{"Ref": "AdotLayerArn"}}, map[string]any{"Ref": "AWS::NoValue"}}},
				props["Layers"])
			vars := obj(t, obj(t, props, "Environment"), "Variables")
			require.Equal(t, map[string]any{"Ref": "OtlpEndpoint"}, vars["OTEL_EXPORTER_OTLP_ENDPOINT"])
			for endpoint, want := range map[bool]string{false: telemetry.Off, true: telemetry.OTLP} {
				v := evalIf(t, vars["TRACING"], map[string]bool{"OtlpTracing": endpoint})
				mode, err := telemetry.ParseMode(v.(string))
				require.NoError(t, err)
				require.Equal(t, want, mode, "OtlpEndpoint given: %t", endpoint)
			}
		})
	}
}
