// Package bench holds the benchmarks of the policy host, parameterised by
// module, so that the host's own modules and the embedded default module
// are measured the same way. Tests only; it imports hostabi and policy.
package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

var now = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

// Input is a shutdown decision on a running gateway: the decision
// "supervisor run" makes on every stop signal.
func Input() *hostabi.Input {
	return &hostabi.Input{Kind: hostabi.KindShutdown, Now: now, Profile: "coder", Trigger: hostabi.TriggerSignal,
		Signal: 15, Phase: hostabi.PhaseRunning, State: hostabi.StateRunning, Params: hostabi.Params{}}
}

// AsOperatorModule returns wasm with a custom section appended: the same
// code, but not the embedded default's bytes, so the host runs it as it
// runs an operator's module (termination checks and watchdog).
func AsOperatorModule(wasm []byte) []byte {
	const name = "hermes.bench"
	out := append([]byte(nil), wasm...)
	out = append(out, 0, byte(1+len(name)+1), byte(len(name)))
	out = append(out, name...)
	return append(out, 0)
}

// DecideWarm measures one decision of the module wasm on a warm instance.
func DecideWarm(b *testing.B, wasm []byte) {
	ctx := context.Background()
	e, err := policy.Open(ctx, policy.Options{Wasm: wasm, OnError: policy.OnErrorFail})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	in := Input()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := e.Decide(ctx, in)
		if err != nil || res.Fallback {
			b.Fatal(err, res.FallbackReason)
		}
	}
}

// DecideNative measures the same decision by the native fallback: the floor.
func DecideNative(b *testing.B) {
	in := Input()
	b.ReportAllocs()
	for b.Loop() {
		if d := fallback.Decide(in); d.State != hostabi.StateRunning {
			b.Fatal(d)
		}
	}
}

// FirstDecision measures Open plus the first decision of wasm.
func FirstDecision(b *testing.B, wasm []byte) {
	ctx := context.Background()
	first := func(b *testing.B, cache string) {
		e, err := policy.Open(ctx, policy.Options{Wasm: wasm, CacheDir: cache, OnError: policy.OnErrorFail})
		if err != nil {
			b.Fatal(err)
		}
		if res, err := e.Decide(ctx, Input()); err != nil || res.Fallback {
			b.Fatal(err, res.FallbackReason)
		}
		e.Close(ctx)
	}
	b.Run("no-cache", func(b *testing.B) {
		for b.Loop() {
			first(b, "")
		}
	})
	b.Run("warm-cache", func(b *testing.B) {
		cache := filepath.Join(b.TempDir(), "cache")
		first(b, cache)
		b.ResetTimer()
		for b.Loop() {
			first(b, cache)
		}
	})
}

// MemoryHeld measures what an open engine holding wasm costs.
func MemoryHeld(b *testing.B, wasm []byte) {
	ctx := context.Background()
	const n = 20
	for b.Loop() {
		heap0, rss0 := memNow()
		engines := make([]*policy.Engine, n)
		for i := range engines {
			e, err := policy.Open(ctx, policy.Options{Wasm: wasm, OnError: policy.OnErrorFail})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.Decide(ctx, Input()); err != nil {
				b.Fatal(err)
			}
			engines[i] = e
		}
		heap1, rss1 := memNow()
		b.ReportMetric(float64(heap1-heap0)/n, "heap-bytes/engine")
		b.ReportMetric(float64(rss1-rss0)/n, "rss-bytes/engine")
		for _, e := range engines {
			e.Close(ctx)
		}
	}
}

func memNow() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc), rssBytes()
}

// rssBytes reads the resident set size from /proc/self/status.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
