package samtemplate

import (
	"fmt"
	"maps"
	"os"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed CloudFormation (SAM) template. Intrinsic functions
// appear in their long form (see [Parse]).
type Template struct {
	Transform  any                  `yaml:"Transform"`
	Parameters map[string]Parameter `yaml:"Parameters"`
	Conditions map[string]any       `yaml:"Conditions"`
	Rules      map[string]any       `yaml:"Rules"`
	Globals    map[string]any       `yaml:"Globals"`
	Resources  map[string]Resource  `yaml:"Resources"`
	Outputs    map[string]Output    `yaml:"Outputs"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type           string   `yaml:"Type"`
	Default        any      `yaml:"Default"`
	AllowedValues  []any    `yaml:"AllowedValues"`
	AllowedPattern string   `yaml:"AllowedPattern"`
	MinValue       *float64 `yaml:"MinValue"`
	MaxValue       *float64 `yaml:"MaxValue"`
	Description    string   `yaml:"Description"`
}

// Resource is a template resource.
type Resource struct {
	Type                string         `yaml:"Type"`
	Condition           string         `yaml:"Condition"`
	DeletionPolicy      string         `yaml:"DeletionPolicy"`
	UpdateReplacePolicy string         `yaml:"UpdateReplacePolicy"`
	Metadata            map[string]any `yaml:"Metadata"`
	Properties          map[string]any `yaml:"Properties"`
}

// Output is a template output.
type Output struct {
	Description string `yaml:"Description"`
	Value       any    `yaml:"Value"`
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template, turning the short intrinsic tags into their long
// form. An unknown "!" tag is an error, so a typo cannot pass for a string.
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	if err := expandTags(&doc); err != nil {
		return nil, err
	}
	var t Template
	if err := doc.Decode(&t); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &t, nil
}

// ResourcesOfType returns the logical IDs and resources of one type.
func (t *Template) ResourcesOfType(typ string) map[string]Resource {
	out := make(map[string]Resource)
	for id, r := range t.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// FunctionProperties returns a serverless function's properties with
// Globals.Function under them: a property the function sets wins. The merge
// is one level deep (SAM merges maps recursively and appends some lists).
func (t *Template) FunctionProperties(id string) map[string]any {
	props := make(map[string]any)
	if globals, ok := t.Globals["Function"].(map[string]any); ok {
		maps.Copy(props, globals)
	}
	maps.Copy(props, t.Resources[id].Properties)
	return props
}
