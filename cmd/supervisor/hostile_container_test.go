package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// TestHostileModuleContainerCycle: a container whose policy module traps
// (or spins until its time limit) in every decision, with 20 gateways.
// Boot decides with the fallback and starts the 20 (their intent is
// running); s6 supervises them as the gateway user; then the container
// stops (s6-svscanctl -t: s6 sends every supervisor SIGTERM at once, no
// marker). Every gateway's supervisor persists the fallback's decision for
// a plain signal (gateway_state running, desired running), says in its log
// why the module was not used, and exits; the next boot would start all
// 20 again. Nothing is lost.
func TestHostileModuleContainerCycle(t *testing.T) {
	t.Parallel() // its own volume, scan directory and s6-svscan
	const n = 20
	for _, tc := range []struct{ module, why string }{
		{"trap", "unreachable"},
		{"loop", "timed out"},
	} {
		t.Run(tc.module, func(t *testing.T) {
			e := newEnv(t)
			if _, err := exec.LookPath("wat2wasm"); err != nil {
				t.Fatal("wat2wasm not found (the tests build their modules from WebAssembly text): apt-get install -y wabt")
			}
			wasm := filepath.Join(filepath.Dir(e.home), tc.module+".wasm")
			out, err := exec.Command("wat2wasm", filepath.Join("..", "..", "policy", "testdata", "hostile", tc.module+".wat"), "-o", wasm).CombinedOutput()
			require.NoError(t, err, "wat2wasm: %s", out)
			require.NoError(t, os.Chmod(wasm, 0o644))
			conf, err := os.ReadFile(e.config)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(e.config, append(conf, []byte("[policy]\nmodule = "+strconv.Quote(wasm)+"\n")...), 0o644))

			names := make([]string, n)
			for i := range n {
				names[i] = fmt.Sprintf("g%02d", i)
				e.ok(0, "profile", "create", names[i])
				p := e.paths(names[i])
				require.NoError(t, os.WriteFile(p.State, []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
				require.NoError(t, os.Chown(p.State, 10000, 10000))
			}
			r := e.ok(0, "boot")
			assert.Contains(t, r.stderr, "deciding with the native fallback", "boot decided with the fallback")
			assert.Contains(t, r.stderr, tc.why)
			bootLog, err := os.ReadFile(filepath.Join(e.home, "logs", "container-boot.log"))
			require.NoError(t, err)
			for _, name := range names {
				assert.Contains(t, r.stderr, "boot: profile "+name+": started (desired running)")
				assert.Regexp(t, `profile=`+name+` .* policy=fallback@native reason=`, string(bootLog), "the boot log names the fallback, which decided")
			}

			sc := s6test.Start(t, e.scandir)
			var wg sync.WaitGroup
			for _, name := range names {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := (&s6.Tools{}).Wait(context.Background(), filepath.Join(e.scandir, "gateway-"+name), 'U', 60*time.Second)
					assert.NoError(t, err, "%s never came up and ready", name)
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.Fatalf("not every gateway came up:\n%s", sc.Output())
			}
			for _, name := range names {
				f, err := state.Read(e.paths(name).State)
				require.NoError(t, err)
				require.Equal(t, "running", f.GatewayState, "%s is up and ready", name)
			}

			sc.Stop(t) // the container stops: every gateway at once

			persisted := map[string]int{}
			for _, name := range names {
				p := e.paths(name)
				f, err := state.Read(p.State)
				require.NoError(t, err, "%s: the state file is whole", name)
				assert.Equal(t, "running", f.GatewayState, "%s", name)
				assert.Equal(t, "running", f.DesiredState, "%s", name)
				assert.Equal(t, hostabi.TriggerSignal.String(), f.Trigger, "%s: a plain signal", name)
				h, err := state.ReadHistory(p.History)
				require.NoError(t, err)
				if assert.NotEmpty(t, h, "%s: the shutdown is in the exit history", name) {
					assert.Equal(t, hostabi.TriggerSignal, h[len(h)-1].Trigger, "%s", name)
				}
				_, err = os.Lstat(p.Pid)
				assert.ErrorIs(t, err, os.ErrNotExist, "%s: gateway.pid removed: the gateway is gone", name)
				log, err := os.ReadFile(filepath.Join(p.Logs, "current"))
				require.NoError(t, err, "%s: the supervisor's log", name)
				assert.Contains(t, string(log), "shutdown decided and durable", "%s", name)
				assert.Contains(t, string(log), "deciding with the native fallback", "%s", name)
				assert.Contains(t, string(log), tc.why, "%s", name)
				persisted[f.GatewayState]++
			}
			assert.Equal(t, map[string]int{"running": n}, persisted)

			dry := e.ok(0, "boot", "--dry-run").stdout
			for _, name := range names {
				assert.Contains(t, dry, " profile="+name+" prior_state=running action=started ", "the next boot revives %s", name)
			}
			assert.Equal(t, n+1, strings.Count(dry, "\n"), dry)
		})
	}
}
