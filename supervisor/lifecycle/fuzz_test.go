package lifecycle

import (
	"testing"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// FuzzParsePhase: what a gateway writes on fd 3 is outside input. Whatever
// it is, the answer is a known phase or "ignored", and "ready" only comes
// with the running phase.
func FuzzParsePhase(f *testing.F) {
	for _, s := range []string{"", "\n", "ready", "phase=running", "phase=draining\n", "phase=", "x=y=z", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p, ready, ok := ParsePhase(line)
		if !ok && (p != 0 || ready) {
			t.Fatalf("ParsePhase(%q) = %v, %v, false: an ignored line must carry nothing", line, p, ready)
		}
		if ok && (p < hostabi.PhaseStarting || p > hostabi.PhaseDegraded) {
			t.Fatalf("ParsePhase(%q) = phase %d", line, p)
		}
		if ready && p != hostabi.PhaseRunning {
			t.Fatalf("ParsePhase(%q): ready with phase %v", line, p)
		}
	})
}
