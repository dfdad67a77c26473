package hostabi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MarshalJSON writes the parameters as one flat JSON object.
func (ps Params) MarshalJSON() ([]byte, error) {
	if ps == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(ps.Map())
}

// UnmarshalJSON reads a JSON object (nested objects flatten to dotted keys).
// Numbers with a fraction or exponent are floats; others are integers.
func (ps *Params) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("hostabi: params: %w", err)
	}
	conv, err := numbers(m)
	if err != nil {
		return err
	}
	out, err := ParamsFromMap(conv)
	if err != nil {
		return err
	}
	*ps = out
	return nil
}

func numbers(m map[string]any) (map[string]any, error) {
	for k, v := range m {
		switch x := v.(type) {
		case json.Number:
			s := string(x)
			if strings.ContainsAny(s, ".eE") {
				f, err := x.Float64()
				if err != nil {
					return nil, fmt.Errorf("hostabi: params: %q: %w", k, err)
				}
				m[k] = f
			} else {
				i, err := x.Int64()
				if err != nil {
					return nil, fmt.Errorf("hostabi: params: %q: %w", k, err)
				}
				m[k] = i
			}
		case map[string]any:
			sub, err := numbers(x)
			if err != nil {
				return nil, err
			}
			m[k] = sub
		}
	}
	return m, nil
}
