package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// TestHostileModuleUnderLoad: 20 gateways, each under a policy module that
// traps (or spins until its time limit) in every decision, shutdown
// included, are sent SIGTERM at once. Every "supervisor run" still makes
// the fallback's decision durable before signalling its gateway, and
// exits: running and exit 1 for a plain signal (the even ones), stopped
// and exit 0 for an operator's stop (the odd ones, whose marker names
// them). Each logs why the module was not used.
func TestHostileModuleUnderLoad(t *testing.T) {
	const n = 20
	for _, tc := range []struct{ module, why string }{
		{"trap", "unreachable"},
		{"loop", "timed out"},
	} {
		t.Run(tc.module, func(t *testing.T) {
			wasm := wat2wasm(t, filepath.Join("..", "..", "policy", "testdata", "hostile", tc.module+".wat"))
			gw := `stop_grace = "5s"` + "\n" + `ready_after = "1h"` + "\n[policy]\nmodule = " + strconv.Quote(wasm) + "\n" + `on_error = "fallback"` + "\n"
			envs := make([]*env, n)
			sups := make([]*sup, n)
			for i := range n {
				envs[i] = newEnv(t, profile.Root, []string{"-term-exit", "0"}, gw)
				sups[i] = envs[i].start()
			}
			for i := range n {
				sups[i].waitReady(t)
				require.Equal(t, "running", envs[i].state().GatewayState, "gateway %d", i)
			}
			for i := 1; i < n; i += 2 {
				_, err := state.WriteMarkerFor(envs[i].p.Marker, sups[i].cmd.Process.Pid, state.IntentStop, time.Now())
				require.NoError(t, err)
			}
			for i := range n {
				require.NoError(t, sups[i].cmd.Process.Signal(syscall.SIGTERM))
			}
			decided := map[string]int{}
			for i := range n {
				e, s := envs[i], sups[i]
				code := s.wait(t)
				log := s.stderr.String()
				want, wantCode, trigger := "running", 1, hostabi.TriggerSignal
				if i%2 == 1 {
					want, wantCode, trigger = "stopped", 0, hostabi.TriggerOperator
				}
				assert.Equal(t, wantCode, code, "gateway %d:\n%s", i, log)
				f, err := state.Read(e.p.State)
				require.NoError(t, err, "gateway %d: the state file is whole", i)
				assert.Equal(t, want, f.GatewayState, "gateway %d", i)
				assert.Equal(t, want, f.DesiredState, "gateway %d", i)
				assert.Equal(t, trigger.String(), f.Trigger, "gateway %d", i)
				assert.Equal(t, policy.FallbackIdentity, f.Policy, "gateway %d: the state names the fallback, which decided", i)
				assert.Contains(t, log, "deciding with the native fallback", "gateway %d: the fallback decided", i)
				assert.Contains(t, log, tc.why, "gateway %d: says why the module was not used", i)
				seen, ok := e.signalEvent("TERM")
				assert.True(t, ok, "gateway %d: the signal reached the gateway: %v", i, e.eventLines())
				assert.Equal(t, want, seen, "gateway %d: the decision was durable before the gateway was signalled", i)
				_, err = os.Lstat(e.p.Marker)
				assert.ErrorIs(t, err, os.ErrNotExist, "gateway %d: no marker left", i)
				assert.NoFileExists(t, e.p.Pid, "gateway %d: gateway.pid is the gateway's: never written by the supervisor", i)
				decided[f.GatewayState]++
			}
			assert.Equal(t, map[string]int{"running": n / 2, "stopped": n / 2}, decided)
			t.Logf("%d gateways under %s: %v", n, tc.module, decided)
		})
	}
}

// wat2wasm compiles a WebAssembly text module with wabt and returns the
// .wasm path.
func wat2wasm(t *testing.T, wat string) string {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm not found (the tests build their modules from WebAssembly text): apt-get install -y wabt")
	}
	out := filepath.Join(t.TempDir(), "module.wasm")
	if b, err := exec.Command("wat2wasm", wat, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", wat, err, b)
	}
	return out
}
