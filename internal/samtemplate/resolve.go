package samtemplate

import (
	"fmt"
	"maps"
	"strings"
)

// Pseudo parameter values that [Template.Values] uses unless overridden:
// those of moto and of the events/ fixtures.
var PseudoDefaults = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "us-east-1",
	"AWS::StackName": "sqsonce",
	"AWS::URLSuffix": "amazonaws.com",
}

// Values returns what Ref and Fn::Sub resolve against: [PseudoDefaults], then
// every parameter's default, then overrides (parameter or pseudo parameter
// names).
func (t *Template) Values(overrides map[string]string) map[string]string {
	v := maps.Clone(PseudoDefaults)
	for name, p := range t.Parameters {
		if p.Default != nil {
			v[name] = fmt.Sprint(p.Default)
		}
	}
	maps.Copy(v, overrides)
	return v
}

// Resolve returns v with each {"Ref": name} whose name is in values replaced
// by that value, and each Fn::Sub whose variables are all in values (or in
// its own variable map) replaced by the string it yields. Everything else,
// references to resources included, is returned as it is.
func Resolve(v any, values map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if name, ok := x["Ref"].(string); ok {
				if val, ok := values[name]; ok {
					return val
				}
				return x
			}
			if sub, ok := x["Fn::Sub"]; ok {
				if s, err := resolveSub(sub, values); err == nil {
					return s
				}
				return x
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Resolve(e, values)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Resolve(e, values)
		}
		return out
	default:
		return v
	}
}

// String resolves v (see [Resolve]) and returns it as a string; scalars are
// formatted with fmt.Sprint. It fails when v still holds an intrinsic
// function, for example a reference to a resource.
func String(v any, values map[string]string) (string, error) {
	switch r := Resolve(v, values).(type) {
	case string:
		return r, nil
	case int, int64, float64, bool:
		return fmt.Sprint(r), nil
	default:
		return "", fmt.Errorf("%v does not resolve to a string", v)
	}
}

// LogicalID returns the logical ID that v refers to when v is {"Ref": id} or
// {"Fn::GetAtt": [id, attribute]}.
func LogicalID(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	if id, ok := m["Ref"].(string); ok {
		return id, true
	}
	if att, ok := m["Fn::GetAtt"].([]any); ok && len(att) == 2 {
		id, ok := att[0].(string)
		return id, ok
	}
	return "", false
}

// resolveSub evaluates Fn::Sub in either form: "template" or
// ["template", {var: value}].
func resolveSub(sub any, values map[string]string) (string, error) {
	var tmpl string
	vars := values
	switch s := sub.(type) {
	case string:
		tmpl = s
	case []any:
		if len(s) != 2 {
			return "", fmt.Errorf("Fn::Sub list needs 2 elements, has %d", len(s))
		}
		t, ok := s[0].(string)
		own, ok2 := s[1].(map[string]any)
		if !ok || !ok2 {
			return "", fmt.Errorf("Fn::Sub list is not [string, map]")
		}
		tmpl = t
		vars = maps.Clone(values)
		for k, e := range own {
			str, err := String(e, values)
			if err != nil {
				return "", fmt.Errorf("Fn::Sub variable %s: %w", k, err)
			}
			vars[k] = str
		}
	default:
		return "", fmt.Errorf("Fn::Sub of %T", sub)
	}
	var b strings.Builder
	for {
		start := strings.Index(tmpl, "${")
		if start < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		end := strings.Index(tmpl[start:], "}")
		if end < 0 {
			return "", fmt.Errorf("Fn::Sub %q: unclosed ${", tmpl)
		}
		b.WriteString(tmpl[:start])
		name := tmpl[start+2 : start+end]
		switch val, ok := vars[name]; {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		case ok:
			b.WriteString(val)
		default:
			return "", fmt.Errorf("Fn::Sub: ${%s} is not a known value", name)
		}
		tmpl = tmpl[start+end+1:]
	}
}
