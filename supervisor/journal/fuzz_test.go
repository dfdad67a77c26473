package journal

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecode: a journal line is outside input (the volume). What Decode
// accepts must encode again, and that encoding must be stable. Seeds:
// testdata/fuzz/FuzzDecode/.
func FuzzDecode(f *testing.F) {
	if line, err := Encode(entry(1, 0, 0)); err == nil {
		f.Add(line)
	}
	f.Add([]byte(`{"kind":"exit"}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := Decode(line)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		out, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", line, err)
		}
		e2, err := Decode(out)
		if err != nil {
			t.Fatalf("encoded %q, which does not decode: %v", out, err)
		}
		out2, err := Encode(e2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable:\n%s\n%s (%v)", out, out2, err)
		}
	})
}
