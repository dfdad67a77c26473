package policy_test

import (
	"os"
	"testing"

	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/bench"
)

// The host's benchmarks on the hand-written mimic module. The same
// benchmarks run on the embedded default module in package fallback's tests.

// BenchmarkDecideWarm: one decision on a warm instance.
func BenchmarkDecideWarm(b *testing.B) {
	bench.DecideWarm(b, mustRead(b, module(b, "modules", "mimic")))
}

// BenchmarkDecideNative is the floor: the same decision by the native fallback.
func BenchmarkDecideNative(b *testing.B) { bench.DecideNative(b) }

// BenchmarkFirstDecision: Open plus one decision in a fresh engine, with no
// compilation cache and with a warm one.
func BenchmarkFirstDecision(b *testing.B) {
	bench.FirstDecision(b, mustRead(b, module(b, "modules", "mimic")))
}

// BenchmarkMemoryHeld: heap and RSS held per open engine.
func BenchmarkMemoryHeld(b *testing.B) {
	bench.MemoryHeld(b, mustRead(b, module(b, "modules", "mimic")))
}

// BenchmarkModuleFile measures any module file, e.g. a Go-built policy:
//
//	HERMES_POLICY_BENCH=crashloop.wasm go test -run X -bench ModuleFile ./policy/
func BenchmarkModuleFile(b *testing.B) {
	path := os.Getenv("HERMES_POLICY_BENCH")
	if path == "" {
		b.Skip("opt-in: set HERMES_POLICY_BENCH to the .wasm file to measure")
	}
	wasm := mustRead(b, path)
	b.Run("DecideWarm", func(b *testing.B) { bench.DecideWarm(b, wasm) })
	b.Run("FirstDecision", func(b *testing.B) { bench.FirstDecision(b, wasm) })
	b.Run("MemoryHeld", func(b *testing.B) { bench.MemoryHeld(b, wasm) })
}
