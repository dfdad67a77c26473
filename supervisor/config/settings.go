package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// A setting is one key of the configuration, found by reflection over the
// toml tags of Config: the struct is the only list of settings.
type setting struct {
	key   string // dotted, "gateway.stop_grace"
	index []int  // field path from Config
	typ   reflect.Type
	kind  kind
	scope scope
}

type scope int

const (
	anywhere   scope = iota // hermes.toml or profile.toml
	hermesOnly              // `profile:"-"`, and every key outside a table
	lowerOnly               // `profile:"lower"`: a profile may lower it, not raise it
)

// A table is the root of Config or one of its struct fields ([gateway]).
type table struct {
	key      string // dotted, "" for the root
	settings map[string]*setting
	tables   map[string]*table
	names    []string // the children, in declaration order
}

// A kind decodes one Go type from the value the TOML parser produced.
type kind struct {
	want string // what the file should hold, for "want X, found Y"
	// decode sets dst from raw. A wrongType error becomes "want X, found
	// Y"; any other error's text is the problem as it is.
	decode func(raw any, dst reflect.Value) error
}

// wrongType says what the file held instead of what the kind wants.
type wrongType struct{ found string }

func (e wrongType) Error() string { return "found " + e.found }

// kinds are the Go types a setting may have. A field of another type
// panics at start-up, so that a new type cannot be added half-way.
var kinds = map[reflect.Type]kind{
	reflect.TypeFor[string](): {"a string", func(raw any, dst reflect.Value) error {
		s, ok := raw.(string)
		if !ok {
			return wrongType{found(raw)}
		}
		dst.SetString(s)
		return nil
	}},
	reflect.TypeFor[bool](): {"true or false", func(raw any, dst reflect.Value) error {
		b, ok := raw.(bool)
		if !ok {
			return wrongType{found(raw)}
		}
		dst.SetBool(b)
		return nil
	}},
	reflect.TypeFor[[]string](): {`an array of strings like ["a", "b"]`, func(raw any, dst reflect.Value) error {
		a, ok := raw.([]any)
		if !ok {
			return wrongType{found(raw)}
		}
		out := make([]string, len(a))
		for i, v := range a {
			if out[i], ok = v.(string); !ok {
				return wrongType{fmt.Sprintf("%s as item %d", found(v), i+1)}
			}
		}
		dst.Set(reflect.ValueOf(out))
		return nil
	}},
	reflect.TypeFor[Duration](): {`a duration string like "10s"`, func(raw any, dst reflect.Value) error {
		s, ok := raw.(string)
		if !ok {
			return wrongType{found(raw)}
		}
		return dst.Addr().Interface().(*Duration).UnmarshalText([]byte(s))
	}},
	reflect.TypeFor[ByteSize](): {`a size like "16MiB" or a whole number of bytes`, func(raw any, dst reflect.Value) error {
		switch raw.(type) {
		case string, int64:
			return dst.Addr().Interface().(*ByteSize).UnmarshalTOML(raw)
		}
		return wrongType{found(raw)}
	}},
	reflect.TypeFor[map[string]any](): {"a table", func(raw any, dst reflect.Value) error {
		m, ok := raw.(map[string]any)
		if !ok {
			return wrongType{found(raw)}
		}
		dst.Set(reflect.ValueOf(m))
		return nil
	}},
}

// found names the TOML type of a value the parser produced.
func found(raw any) string {
	switch raw.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date or time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", raw)
}

var (
	root     *table
	settings []*setting // in declaration order
	byKey    map[string]*setting
)

func init() {
	root = buildTable(reflect.TypeFor[Config](), nil, "", &settings)
	byKey = make(map[string]*setting, len(settings))
	for _, s := range settings {
		byKey[s.key] = s
	}
}

// buildTable reads the settings of struct type t (at field path index and
// dotted key, "" for the root) from its tags, appending them to all. It
// panics on a field no kind decodes or an unknown profile tag: a mistake in
// the definition of a setting stops every test and every start.
func buildTable(t reflect.Type, index []int, key string, all *[]*setting) *table {
	tbl := &table{key: key, settings: map[string]*setting{}, tables: map[string]*table{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		k := join(key, name)
		tbl.names = append(tbl.names, name)
		kd, ok := kinds[f.Type]
		switch {
		case ok:
			s := &setting{key: k, index: idx, typ: f.Type, kind: kd}
			switch tag := f.Tag.Get("profile"); {
			case key == "" || tag == "-":
				s.scope = hermesOnly
			case tag == "lower":
				if !numeric(f.Type) {
					panic(fmt.Sprintf("config: %s: profile:\"lower\" on a %s, not a number", k, f.Type))
				}
				s.scope = lowerOnly
			case tag != "":
				panic(fmt.Sprintf("config: %s: unknown profile tag %q", k, tag))
			}
			tbl.settings[name] = s
			*all = append(*all, s)
		case f.Type.Kind() == reflect.Struct:
			tbl.tables[name] = buildTable(f.Type, idx, k, all)
		default:
			panic(fmt.Sprintf("config: %s has type %s, which no kind decodes", k, f.Type))
		}
	}
	return tbl
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func numeric(t reflect.Type) bool {
	k := t.Kind()
	return k >= reflect.Int && k <= reflect.Uint64
}

// Keys returns every setting's dotted name in documentation order.
func Keys() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.key
	}
	return out
}

// Value returns the effective value of a dotted key, for "config show":
// durations and sizes as their text ("10s", "16MiB"), the rest as the
// field holds it. An unknown key is nil.
func (c *Config) Value(key string) any {
	s := byKey[key]
	if s == nil {
		return nil
	}
	return display(reflect.ValueOf(c).Elem().FieldByIndex(s.index))
}

func display(v reflect.Value) any {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return string(b)
	}
	return v.Interface()
}

// clone copies c with its own slices, maps and sources.
func (c Config) clone() Config {
	out := c
	v := reflect.ValueOf(&out).Elem()
	for _, s := range settings {
		f := v.FieldByIndex(s.index)
		switch {
		case f.Kind() == reflect.Slice && !f.IsNil():
			f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()), f))
		case f.Kind() == reflect.Map && !f.IsNil():
			m := reflect.MakeMapWithSize(f.Type(), f.Len())
			for it := f.MapRange(); it.Next(); {
				m.SetMapIndex(it.Key(), it.Value())
			}
			f.Set(m)
		}
	}
	out.Sources = make(map[string]string, len(c.Sources))
	for k, s := range c.Sources {
		out.Sources[k] = s
	}
	return out
}

// merge applies the file at path to c: every key the file defines (the
// TOML library's metadata lists them in file order) is checked and, if
// valid, set with the file as its source. profile says the file is a
// profile.toml. read is false when the file could not be read or parsed
// (the only problem then says why).
func (c *Config) merge(path string, profile bool) (ps []Problem, read bool) {
	read_ := readFile
	if profile {
		read_ = readProfileFile
	}
	data, err := read_(path)
	if err != nil {
		return []Problem{readProblem(path, err)}, false
	}
	var raw map[string]any
	md, err := toml.Decode(strings.TrimPrefix(string(data), "\ufeff"), &raw)
	if err != nil {
		return []Problem{{File: path, Message: escape(path) + ": " + parseMessage(err), err: err}}, false
	}
	skip := map[string]bool{} // keys whose subtree is reported or not ours
	rv := reflect.ValueOf(c).Elem()
keys:
	for _, k := range md.Keys() {
		for i := 1; i <= len(k); i++ {
			if skip[k[:i].String()] {
				continue keys
			}
		}
		t := root
		for i, piece := range k {
			last := i == len(k)-1
			if s := t.settings[piece]; s != nil {
				if last {
					if p, ok := c.set(rv, s, lookup(raw, k), path, profile); !ok {
						ps = append(ps, p)
					}
				}
				// else: a key inside a table-valued setting (policy.params.x)
				continue keys
			}
			if sub := t.tables[piece]; sub != nil {
				if !last {
					t = sub
					continue
				}
				if v := lookup(raw, k); !isTable(v) {
					ps = append(ps, keyProblem(path, sub.key, "want a table, found "+found(v)))
					skip[k.String()] = true
				}
				continue keys
			}
			if profile && i == 0 && suggestFold(root, piece) == "" {
				skip[k[:1].String()] = true // hermes' own setting
				continue keys
			}
			ps = append(ps, unknownProblem(path, k[:i+1].String(), suggest(t, piece)))
			skip[k[:i+1].String()] = true
			continue keys
		}
	}
	c.Policy.SHA256 = strings.ToLower(c.Policy.SHA256)
	return ps, true
}

// set decodes raw into the setting's field, after the profile rules.
func (c *Config) set(rv reflect.Value, s *setting, raw any, path string, profile bool) (Problem, bool) {
	if profile && s.scope == hermesOnly {
		return keyProblem(path, s.key, "may only be set in hermes.toml, not in a profile.toml (which the gateway user can write)"), false
	}
	v := reflect.New(s.typ).Elem()
	if err := s.kind.decode(raw, v); err != nil {
		var wt wrongType
		if errors.As(err, &wt) {
			return keyProblem(path, s.key, "want "+s.kind.want+", "+wt.Error()), false
		}
		return keyProblem(path, s.key, err.Error()), false
	}
	cur := rv.FieldByIndex(s.index)
	if profile && s.scope == lowerOnly && greater(v, cur) {
		from := "the built-in default"
		if src := c.Sources[s.key]; src != "default" && src != "" {
			from = escape(src)
		}
		return keyProblem(path, s.key, fmt.Sprintf("%v is above the limit of %v (from %s); a profile may lower it, not raise it",
			display(v), display(cur), from)), false
	}
	cur.Set(v)
	c.Sources[s.key] = path
	return Problem{}, true
}

func greater(a, b reflect.Value) bool {
	if a.CanInt() {
		return a.Int() > b.Int()
	}
	return a.Uint() > b.Uint()
}

func isTable(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// lookup returns the value at key k in the parsed document.
func lookup(raw map[string]any, k toml.Key) any {
	var v any = raw
	for _, piece := range k {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[piece]
	}
	return v
}
