package policy_test

import (
	"testing"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/bench"
)

// The host's benchmarks on the hand-written mimic module. The same
// benchmarks run on the embedded default module in package fallback's tests.

// BenchmarkDecideWarm: one decision on a warm instance.
func BenchmarkDecideWarm(b *testing.B) {
	bench.DecideWarm(b, mustRead(b, module(b, "modules", "mimic")))
}

// BenchmarkDecideNative is the floor: the same decision by the native fallback.
func BenchmarkDecideNative(b *testing.B) {
	in := bench.Input()
	b.ReportAllocs()
	for b.Loop() {
		if d := fallback.Decide(in); d.State != hostabi.StateRunning {
			b.Fatal(d)
		}
	}
}

// BenchmarkFirstDecision: Open plus one decision in a fresh engine, with no
// compilation cache and with a warm one.
func BenchmarkFirstDecision(b *testing.B) {
	bench.FirstDecision(b, mustRead(b, module(b, "modules", "mimic")))
}

// BenchmarkMemoryHeld: heap and RSS held per open engine.
func BenchmarkMemoryHeld(b *testing.B) {
	bench.MemoryHeld(b, mustRead(b, module(b, "modules", "mimic")))
}
