package hostabi

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// ParamType is the type of one policy parameter.
type ParamType uint8

const (
	ParamBool   ParamType = 1
	ParamInt    ParamType = 2
	ParamFloat  ParamType = 3
	ParamString ParamType = 4
)

// Param is one entry of [policy.params], nested tables flattened to dotted keys.
type Param struct {
	Key   string
	Type  ParamType
	Bool  bool
	Int   int64
	Float float64
	Str   string
}

// Value returns the parameter's value as a Go value (bool, int64, float64 or string).
func (p Param) Value() any {
	switch p.Type {
	case ParamBool:
		return p.Bool
	case ParamInt:
		return p.Int
	case ParamFloat:
		return p.Float
	default:
		return p.Str
	}
}

// Params is the ordered (by key) list of policy parameters.
type Params []Param

// Lookup returns the parameter named key.
func (ps Params) Lookup(key string) (Param, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

// Bool returns the boolean parameter key, or def when it is absent or not a bool.
func (ps Params) Bool(key string, def bool) bool {
	if p, ok := ps.Lookup(key); ok && p.Type == ParamBool {
		return p.Bool
	}
	return def
}

// Int returns the integer parameter key, or def when it is absent or not an int.
func (ps Params) Int(key string, def int64) int64 {
	if p, ok := ps.Lookup(key); ok && p.Type == ParamInt {
		return p.Int
	}
	return def
}

// Float returns the float parameter key, or def when it is absent or not a float.
func (ps Params) Float(key string, def float64) float64 {
	if p, ok := ps.Lookup(key); ok && p.Type == ParamFloat {
		return p.Float
	}
	return def
}

// Duration returns the parameter key read as a Go duration string ("10m",
// "90s"), or def when it is absent, not a string, or not a duration.
func (ps Params) Duration(key string, def time.Duration) time.Duration {
	if p, ok := ps.Lookup(key); ok && p.Type == ParamString {
		if d, err := time.ParseDuration(p.Str); err == nil {
			return d
		}
	}
	return def
}

// String returns the string parameter key, or def when it is absent or not a string.
func (ps Params) String(key string, def string) string {
	if p, ok := ps.Lookup(key); ok && p.Type == ParamString {
		return p.Str
	}
	return def
}

// ParamsFromMap flattens a decoded TOML or JSON table into Params, sorted by
// key. Nested tables become dotted keys; arrays and other types are refused
// with an error naming the key.
func ParamsFromMap(m map[string]any) (Params, error) {
	var out Params
	if err := flatten("", m, &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func flatten(prefix string, m map[string]any, out *Params) error {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if key == "" || len(key) > math.MaxUint16 || strings.ContainsRune(key, 0) {
			return fmt.Errorf("policy parameter %q: invalid key", key)
		}
		switch x := v.(type) {
		case bool:
			*out = append(*out, Param{Key: key, Type: ParamBool, Bool: x})
		case int64:
			*out = append(*out, Param{Key: key, Type: ParamInt, Int: x})
		case int:
			*out = append(*out, Param{Key: key, Type: ParamInt, Int: int64(x)})
		case float64:
			*out = append(*out, Param{Key: key, Type: ParamFloat, Float: x})
		case string:
			*out = append(*out, Param{Key: key, Type: ParamString, Str: x})
		case map[string]any:
			if err := flatten(key, x, out); err != nil {
				return err
			}
		default:
			return fmt.Errorf("policy parameter %q: %T values are not supported (use a bool, integer, float, string or table)", key, v)
		}
	}
	return nil
}

// Map returns the parameters as a flat map from dotted key to value.
func (ps Params) Map() map[string]any {
	m := make(map[string]any, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value()
	}
	return m
}
