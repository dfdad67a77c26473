package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"
)

// parseObject decodes data as one JSON object the way the gateway's
// Python reads it: NaN, Infinity and -Infinity are numbers, a duplicate
// key's last value wins, white space may surround the object; a UTF-8
// byte-order mark is skipped (Python 3.11's json does not, hermes' newer
// readers do). Content that is not UTF-8 is refused, as Python's decoding
// refuses it.
//
// It returns each key's value twice: raw, exactly as written (to write
// back untouched), and decoded, where each non-finite literal is replaced
// by a finite number of the same length (to read with encoding/json).
func parseObject(data []byte) (raw, decoded map[string]json.RawMessage, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, nil, errors.New("not a JSON object: not UTF-8")
	}
	finite, depth := finiteCopy(data)
	if depth > MaxDepth {
		return nil, nil, fmt.Errorf("not a JSON object: nested more than %d deep", MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(finite))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("not a JSON object: starts with %s", abbrev(bytes.TrimSpace(finite)))
	}
	raw, decoded = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("not a JSON object: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, errors.New("not a JSON object: a key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("not a JSON object: value of %q: %w", key, err)
		}
		end := int(dec.InputOffset())
		raw[key] = json.RawMessage(append([]byte(nil), data[end-len(v):end]...))
		decoded[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("not a JSON object: data after the object")
	}
	return raw, decoded, nil
}

// MaxDepth is how deeply a state file may nest arrays and objects. The
// gateway's Python gives up near 1000 (its recursion limit), and reads
// such a file as no file at all; so does this package, a little before.
const MaxDepth = 990

// finiteCopy returns data with every NaN and Infinity literal outside a
// string replaced by a valid JSON number of the same length ("0e0",
// "0e000000"; the minus of -Infinity stays), so that encoding/json reads
// what Python reads and every offset stays the same, and how deep arrays
// and objects nest in it. A literal where no value may stand stays invalid
// either way.
func finiteCopy(data []byte) ([]byte, int) {
	out := append([]byte(nil), data...)
	inString, escaped := false, false
	depth, deepest := 0, 0
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case !inString && (c == '[' || c == '{'):
			depth++
			deepest = max(deepest, depth)
		case !inString && (c == ']' || c == '}'):
			depth--
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case bytes.HasPrefix(out[i:], []byte("NaN")):
			copy(out[i:], "0e0")
			i += 2
		case bytes.HasPrefix(out[i:], []byte("Infinity")):
			copy(out[i:], "0e000000")
			i += 7
		}
	}
	return out, deepest
}

// encodeObject writes the object m, keys sorted, one key per line, each
// value as given (raw JSON, possibly with Python's NaN), with a final
// newline and no byte-order mark.
func encodeObject(m map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n  ")
		kb, _ := json.Marshal(k) // a string always encodes
		b.Write(kb)
		b.WriteString(": ")
		v := m[k]
		var c bytes.Buffer
		if json.Compact(&c, v) == nil {
			v = c.Bytes()
		}
		b.Write(v)
	}
	if len(keys) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}
