package s6_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
)

// FuzzParseStatus: s6-svstat's output is parsed, never trusted; anything
// but the ten expected fields is ErrBadOutput. Seeds: testdata/fuzz/.
func FuzzParseStatus(f *testing.F) {
	f.Add("true true true true false 123 -1 NA 5 5")
	f.Add("false false true false false -1 0 SIGTERM 12 0")
	f.Add("true true")
	f.Fuzz(func(t *testing.T, line string) {
		st, err := s6.ParseStatus(line)
		if err != nil {
			if !errors.Is(err, s6.ErrBadOutput) {
				t.Fatalf("error does not wrap ErrBadOutput: %v", err)
			}
			return
		}
		if len(strings.Fields(line)) != 10 {
			t.Fatalf("accepted %q (%+v)", line, st)
		}
	})
}
