package samtemplate_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/samtemplate"
)

// root is the repository root, seen from this package's directory (where go
// test runs).
const root = "../.."

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	require.NoError(t, err)
	return tmpl
}

// str resolves v with the template's defaults (and overrides) to a string.
func str(t *testing.T, tmpl *samtemplate.Template, v any, overrides map[string]string) string {
	t.Helper()
	s, err := samtemplate.String(v, tmpl.Values(overrides))
	require.NoError(t, err)
	return s
}

// num resolves v to a number: a literal or a Ref to a parameter's default.
func num(t *testing.T, tmpl *samtemplate.Template, v any) float64 {
	t.Helper()
	switch x := samtemplate.Resolve(v, tmpl.Values(nil)).(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case string:
		var f float64
		_, err := fmt.Sscan(x, &f)
		require.NoError(t, err, "%v is not a number", v)
		return f
	default:
		require.Failf(t, "not a number", "%v", v)
		return 0
	}
}

// param returns a parameter that must exist.
func param(t *testing.T, tmpl *samtemplate.Template, name string) samtemplate.Parameter {
	t.Helper()
	p, ok := tmpl.Parameters[name]
	require.True(t, ok, "parameter %s", name)
	return p
}

// refParam requires v to be a Ref to a parameter of the template and returns
// the parameter's name.
func refParam(t *testing.T, tmpl *samtemplate.Template, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "%v is not a Ref", v)
	name, ok := m["Ref"].(string)
	require.True(t, ok, "%v is not a Ref", v)
	param(t, tmpl, name)
	return name
}

// maxOf returns the largest value v can take: a literal, or a Ref to a
// parameter with a MaxValue (or its default when it has none).
func maxOf(t *testing.T, tmpl *samtemplate.Template, v any) float64 {
	t.Helper()
	return bound(t, tmpl, v, func(p samtemplate.Parameter) *float64 { return p.MaxValue })
}

// minOf returns the smallest value v can take, as maxOf the largest.
func minOf(t *testing.T, tmpl *samtemplate.Template, v any) float64 {
	t.Helper()
	return bound(t, tmpl, v, func(p samtemplate.Parameter) *float64 { return p.MinValue })
}

func bound(t *testing.T, tmpl *samtemplate.Template, v any, limit func(samtemplate.Parameter) *float64) float64 {
	t.Helper()
	if m, ok := v.(map[string]any); ok {
		if name, ok := m["Ref"].(string); ok {
			if l := limit(param(t, tmpl, name)); l != nil {
				return *l
			}
		}
	}
	return num(t, tmpl, v)
}

// obj returns v[key] as a map, failing the test when it is not one.
func obj(t *testing.T, v map[string]any, key string) map[string]any {
	t.Helper()
	m, ok := v[key].(map[string]any)
	require.True(t, ok, "%s is %T, not a map", key, v[key])
	return m
}

// list returns v as a list; a single value is a list of one (as in IAM).
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// createdOrExisting returns the first branch of {"Fn::If":
// ["CreateIdempotencyTable", created, existing]}: the stack's own
// idempotency table (TestSharedIdempotencyTable checks the other branch),
// and any other v as it is.
func createdOrExisting(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if c, ok := m["Fn::If"].([]any); ok && len(c) == 3 && c[0] == "CreateIdempotencyTable" {
			return c[1]
		}
	}
	return v
}
