package hostabi

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Metadata is what a module says about itself through hermes_metadata.
type Metadata struct {
	Name      string
	Version   string
	Decisions []Kind
	// DeclaresParams: the metadata has a params key, so Params is every
	// parameter the module reads (none when empty). A module without one
	// (written before the key existed) reads parameters it does not name.
	DeclaresParams bool
	Params         []ParamSpec
	Extra          map[string]string // other keys, as written
}

// Supports reports whether the module makes decisions of kind k.
func (m *Metadata) Supports(k Kind) bool {
	for _, d := range m.Decisions {
		if d == k {
			return true
		}
	}
	return false
}

// Text renders m in the format hermes_metadata returns.
func (m *Metadata) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%s\nversion=%s\ndecisions=", m.Name, m.Version)
	for i, k := range m.Decisions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.String())
	}
	b.WriteByte('\n')
	if m.DeclaresParams {
		b.WriteString("params=")
		for i, p := range m.Params {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(p.String())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseMetadata parses and validates the metadata text of a module.
func ParseMetadata(b []byte) (Metadata, error) {
	var m Metadata
	if len(b) > MaxMetadataSize {
		return m, malformed("metadata is %d bytes, more than %d", len(b), MaxMetadataSize)
	}
	if !utf8.Valid(b) {
		return m, malformed("metadata is not valid UTF-8")
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return m, malformed("metadata line %d: %q is not key=value", i+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if seen[k] {
			return m, malformed("metadata line %d: key %q given twice", i+1, k)
		}
		seen[k] = true
		switch k {
		case "name":
			if !validName(v) {
				return m, malformed("metadata name %q: want 1 to 64 of [a-z0-9._-]", v)
			}
			m.Name = v
		case "version":
			if v == "" || len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
				return m, malformed("metadata version %q: want 1 to 64 printable characters", v)
			}
			m.Version = v
		case "decisions":
			for _, d := range strings.Split(v, ",") {
				var kind Kind
				if err := kind.UnmarshalText([]byte(strings.TrimSpace(d))); err != nil {
					return m, malformed("metadata decisions: %v", err)
				}
				if !m.Supports(kind) {
					m.Decisions = append(m.Decisions, kind)
				}
			}
		case "params":
			specs, err := parseParamSpecs(v)
			if err != nil {
				return m, malformed("metadata params: %v", err)
			}
			m.DeclaresParams, m.Params = true, specs
		default:
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = v
		}
	}
	switch {
	case m.Name == "":
		return m, malformed("metadata has no name")
	case m.Version == "":
		return m, malformed("metadata has no version")
	case len(m.Decisions) == 0:
		return m, malformed("metadata names no decisions")
	}
	return m, nil
}
