package samtemplate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/samtemplate"
)

func TestParseShortTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want any
	}{
		{"Ref", `!Ref Prefix`, map[string]any{"Ref": "Prefix"}},
		{"GetAtt dotted", `!GetAtt Queue.Arn`, map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		{"GetAtt list", `!GetAtt [Queue, QueueName]`, map[string]any{"Fn::GetAtt": []any{"Queue", "QueueName"}}},
		{"Sub quoted", `!Sub "${Prefix}-events"`, map[string]any{"Fn::Sub": "${Prefix}-events"}},
		{"Sub list", "!Sub\n  - ${A}-x\n  - A: !Ref Prefix", map[string]any{"Fn::Sub": []any{"${A}-x", map[string]any{"A": map[string]any{"Ref": "Prefix"}}}}},
		{"If nested", `!If [Cond, !GetAtt Q.QueueUrl, ""]`, map[string]any{"Fn::If": []any{"Cond", map[string]any{"Fn::GetAtt": []any{"Q", "QueueUrl"}}, ""}}},
		{"Join", `!Join [",", [a, !Ref B]]`, map[string]any{"Fn::Join": []any{",", []any{"a", map[string]any{"Ref": "B"}}}}},
		{"Select Split", `!Select [1, !Split ["/", !Ref X]]`, map[string]any{"Fn::Select": []any{1, map[string]any{"Fn::Split": []any{"/", map[string]any{"Ref": "X"}}}}}},
		{"Not Equals", `!Not [!Equals [!Ref A, ""]]`, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "A"}, ""}}}}},
		{"Condition", `!Condition HasTopic`, map[string]any{"Condition": "HasTopic"}},
		{"plain scalars keep their type", `[30, true, "5", x]`, []any{30, true, "5", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := samtemplate.Parse([]byte("Outputs:\n  O:\n    Value: " + indent(tt.yaml) + "\n"))
			require.NoError(t, err)
			require.Equal(t, tt.want, tmpl.Outputs["O"].Value)
		})
	}
}

func TestParseRejectsUnknownTagsAndBadGetAtt(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"Outputs:\n  O:\n    Value: !Reff X\n", "Outputs:\n  O:\n    Value: !GetAtt NoAttribute\n"} {
		_, err := samtemplate.Parse([]byte(doc))
		require.Error(t, err, doc)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	values := map[string]string{"Prefix": "p", "AWS::Region": "eu-west-1"}
	tests := []struct {
		name  string
		in    any
		want  string
		fails bool
	}{
		{"literal", "x", "x", false},
		{"number", 185, "185", false},
		{"Ref parameter", map[string]any{"Ref": "Prefix"}, "p", false},
		{"Sub", map[string]any{"Fn::Sub": "arn:${AWS::Region}:${Prefix}-events"}, "arn:eu-west-1:p-events", false},
		{"Sub escape", map[string]any{"Fn::Sub": "${!Literal}-${Prefix}"}, "${Literal}-p", false},
		{"Sub list", map[string]any{"Fn::Sub": []any{"${A}/${Prefix}", map[string]any{"A": map[string]any{"Ref": "Prefix"}}}}, "p/p", false},
		{"Ref resource", map[string]any{"Ref": "Queue"}, "", true},
		{"Sub resource attribute", map[string]any{"Fn::Sub": "${Queue.Arn}"}, "", true},
		{"GetAtt", map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := samtemplate.String(tt.in, values)
			if tt.fails {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLogicalID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
		ok   bool
	}{
		{"Ref", map[string]any{"Ref": "Table"}, "Table", true},
		{"GetAtt", map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}, "Queue", true},
		{"string", "arn:aws:sqs:us-east-1:1:q", "", false},
		{"Sub", map[string]any{"Fn::Sub": "${Queue.Arn}"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := samtemplate.LogicalID(tt.in)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// indent continues a YAML value on the lines after the first at the depth of
// an Outputs value.
func indent(s string) string {
	out := []byte{}
	for _, c := range []byte(s) {
		out = append(out, c)
		if c == '\n' {
			out = append(out, "      "...)
		}
	}
	return string(out)
}
