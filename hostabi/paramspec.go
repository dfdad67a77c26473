package hostabi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The types a module may declare a parameter with (see "Metadata" in the
// package doc). On the wire a duration is a string parameter holding a Go
// duration ("10m", "90s").
const (
	SpecBool     = "bool"
	SpecInt      = "int"
	SpecFloat    = "float"
	SpecString   = "string"
	SpecDuration = "duration"
)

// SpecTypes lists the declarable types, in the order the package doc gives them.
var SpecTypes = []string{SpecBool, SpecInt, SpecFloat, SpecString, SpecDuration}

// ParamSpec is one parameter a module declares in its metadata: the key it
// reads from [policy.params], the type it reads it as, and the value it
// uses when the key is absent (or has another type).
type ParamSpec struct {
	Key     string `json:"key"`     // dotted for a nested table: "window.size"
	Type    string `json:"type"`    // one of SpecTypes
	Default string `json:"default"` // as the metadata writes it: false, 5, 1.5, running, 10m ("" for an empty string)
}

// String is s as the metadata writes it: key:type:default.
func (s ParamSpec) String() string { return s.Key + ":" + s.Type + ":" + s.Default }

// validParamKey: 1 to 128 of [A-Za-z0-9_.-], dots only between names.
func validParamKey(k string) bool {
	if k == "" || len(k) > 128 || k[0] == '.' || k[len(k)-1] == '.' || strings.Contains(k, "..") {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

var errBadDefault = errors.New("bad default")

// validate checks s's key, its type and that its default reads as that type.
func (s ParamSpec) validate() error {
	if !validParamKey(s.Key) {
		return fmt.Errorf("key %q: want 1 to 128 of [A-Za-z0-9_.-]", s.Key)
	}
	var err error
	switch s.Type {
	case SpecBool:
		if s.Default != "true" && s.Default != "false" {
			err = errBadDefault
		}
	case SpecInt:
		_, err = strconv.ParseInt(s.Default, 10, 64)
	case SpecFloat:
		var f float64
		f, err = strconv.ParseFloat(s.Default, 64)
		if err == nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			err = errBadDefault
		}
	case SpecString:
		if strings.ContainsAny(s.Default, ",\n") {
			return fmt.Errorf("%s: default %q: a default holds no comma or newline", s.Key, s.Default)
		}
	case SpecDuration:
		_, err = time.ParseDuration(s.Default)
	default:
		return fmt.Errorf("%s: type %q: want one of %s", s.Key, s.Type, strings.Join(SpecTypes, ", "))
	}
	if err != nil {
		return fmt.Errorf("%s: default %q: want %s", s.Key, s.Default, s.describe())
	}
	return nil
}

// Check reports why the configured parameter p does not read as s
// declares it (the module would then use its default), or nil when it does.
func (s ParamSpec) Check(p Param) error {
	want := map[string]ParamType{SpecBool: ParamBool, SpecInt: ParamInt, SpecFloat: ParamFloat,
		SpecString: ParamString, SpecDuration: ParamString}[s.Type]
	if p.Type != want {
		return fmt.Errorf("want %s, found %s", s.describe(), typeName(p.Type))
	}
	if s.Type == SpecDuration {
		if _, err := time.ParseDuration(p.Str); err != nil {
			return fmt.Errorf("want %s, found %q", s.describe(), p.Str)
		}
	}
	return nil
}

// describe names what s wants, as an example of it.
func (s ParamSpec) describe() string {
	switch s.Type {
	case SpecBool:
		return "a boolean (true or false)"
	case SpecInt:
		return "an integer"
	case SpecFloat:
		return "a float such as 1.5"
	case SpecDuration:
		return `a duration string such as "10m"`
	}
	return "a string"
}

func typeName(t ParamType) string {
	switch t {
	case ParamBool:
		return "a boolean"
	case ParamInt:
		return "an integer"
	case ParamFloat:
		return "a float"
	}
	return "a string"
}

// parseParamSpecs reads the value of the params metadata key:
// key:type:default entries separated by commas; empty declares none.
func parseParamSpecs(v string) ([]ParamSpec, error) {
	specs := []ParamSpec{}
	if strings.TrimSpace(v) == "" {
		return specs, nil
	}
	seen := map[string]bool{}
	for _, entry := range strings.Split(v, ",") {
		parts := strings.SplitN(strings.TrimSpace(entry), ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("%q is not key:type:default", strings.TrimSpace(entry))
		}
		s := ParamSpec{Key: parts[0], Type: parts[1], Default: parts[2]}
		if err := s.validate(); err != nil {
			return nil, err
		}
		if seen[s.Key] {
			return nil, fmt.Errorf("%s declared twice", s.Key)
		}
		seen[s.Key] = true
		specs = append(specs, s)
	}
	return specs, nil
}

// Param returns the parameter key as m declares it.
func (m *Metadata) Param(key string) (ParamSpec, bool) {
	for _, s := range m.Params {
		if s.Key == key {
			return s, true
		}
	}
	return ParamSpec{}, false
}
