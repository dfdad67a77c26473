package runner

import "testing"

// FuzzParsePhase: what a gateway writes on fd 3 is outside input.
func FuzzParsePhase(f *testing.F) {
	for _, s := range []string{"", "\n", "ready", "phase=running", "phase=draining\n", "phase=", "x=y=z", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ParsePhase(line) // any answer, no panic
	})
}
