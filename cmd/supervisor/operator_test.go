package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
)

// TestOnErrorFailWithoutItsModule: a profile whose policy has on_error =
// "fail" and a module that is missing. Its gateway is not started, run
// exits 111 naming the module, s6 keeps the slot down instead of retrying
// every second, and status and explain say what happened.
func TestOnErrorFailWithoutItsModule(t *testing.T) {
	e := newEnv(t)
	e.ok(0, "boot")
	s6test.Start(t, e.scandir)
	e.ok(0, "profile", "create", "coder")
	missing := filepath.Join(e.home, "policies", "mypolicy.wasm") // a profile.toml may only name a module on the volume
	require.NoError(t, os.MkdirAll(filepath.Dir(missing), 0o755))
	require.NoError(t, os.WriteFile(e.paths("coder").Config, []byte("[policy]\nmodule = \""+missing+"\"\non_error = \"fail\"\n"), 0o644))

	r := e.cli(0, "-p", "coder", "gateway", "start")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `gateway "coder" did not become ready: it is down, last exit code 111`)

	slot := filepath.Join(e.scandir, "gateway-coder")
	tools := &s6.Tools{}
	ctx := context.Background()
	time.Sleep(2500 * time.Millisecond) // s6 would have retried twice by now
	st, err := tools.Status(ctx, slot)
	require.NoError(t, err)
	assert.False(t, st.Up)
	assert.False(t, st.WantedUp, "finish told s6 to keep it down")
	deaths, err := tools.Deaths(ctx, slot)
	require.NoError(t, err)
	assert.Equal(t, 1, deaths, "not restarted")

	r = e.ok(0, "-p", "coder", "gateway", "status")
	assert.Contains(t, r.stdout, "startup_failed")
	assert.Contains(t, r.stdout, "policy module "+missing+" cannot be read (no such file or directory): its gateway cannot start")
	assert.Contains(t, r.stdout, "exit 111")

	r = e.ok(0, "-p", "coder", "explain", "--last", "1")
	assert.Contains(t, r.stdout, "exit: gateway not started: policy module "+missing+` cannot be used and policy.on_error is "fail": open `+missing+": no such file or directory")
	assert.NotContains(t, r.stdout, "the gateway exited with code")

	r = e.cli(0, "config", "check")
	assert.Equal(t, 1, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "policy module "+missing+" is refused: open "+missing+`: no such file or directory; the gateway of profile coder does not start (policy.on_error = "fail")`)
	assert.Contains(t, r.stdout, "PROBLEMS: 1 problem in "+e.config+", 2 profiles, 2 policy modules")

	// Fixed: it starts.
	require.NoError(t, os.WriteFile(e.paths("coder").Config, nil, 0o644))
	e.ok(0, "-p", "coder", "gateway", "start")
	r = e.ok(0, "config", "check")
	assert.Contains(t, r.stdout, "ok: 0 problems")
	e.ok(0, "-p", "coder", "gateway", "stop")
}

// TestNoLockOutOfARunningGateway: a running gateway's profile.toml broken,
// then removed; the operator still sees, stops, resets and deletes it.
func TestNoLockOutOfARunningGateway(t *testing.T) {
	e := newEnv(t)
	e.ok(0, "boot")
	s6test.Start(t, e.scandir)
	e.ok(0, "profile", "create", "coder")
	e.ok(0, "-p", "coder", "gateway", "start")
	p := e.paths("coder")
	require.NoError(t, os.WriteFile(p.Config, []byte("[gateway]\nstop_grace = \"5\"\n"), 0o644))

	r := e.ok(0, "gateway", "status", "--all")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.True(t, strings.HasPrefix(lines[2], "coder\tup\t"), lines[2])
	assert.Contains(t, lines[2], "gateway.stop_grace in "+p.Config)

	e.ok(0, "-p", "coder", "gateway", "stop")
	st := e.status(0, "coder")
	require.NotNil(t, st.S6)
	assert.False(t, st.S6.Up)
	e.ok(0, "-p", "coder", "gateway", "reset")

	require.NoError(t, os.Remove(p.Config))
	r = e.ok(0, "profile", "list")
	assert.Contains(t, r.stdout, "coder\t(not a profile any more")
	e.ok(0, "profile", "delete", "coder")
	assert.NoDirExists(t, p.Dir)
	assert.NoDirExists(t, filepath.Join(e.scandir, "gateway-coder"))
}

// TestRefusedModuleIsNoSilentFallback: a wrong sha256 pin. The gateways
// still run (on_error = "fallback": the native fallback decides), but
// every command an operator runs says so: boot's log, config check (exit
// 1), gateway start, status's NOTE, explain.
func TestRefusedModuleIsNoSilentFallback(t *testing.T) {
	e := newEnv(t)
	mod := filepath.Join(t.TempDir(), "mypolicy.wasm")
	require.NoError(t, os.WriteFile(mod, policy.Default, 0o644))
	require.NoError(t, os.Chmod(filepath.Dir(mod), 0o755))
	cfg, err := os.ReadFile(e.config)
	require.NoError(t, err)
	pin := strings.Repeat("0", 64)
	require.NoError(t, os.WriteFile(e.config, append(cfg, []byte("[policy]\nmodule = \""+mod+"\"\nsha256 = \""+pin+"\"\n")...), 0o644))

	r := e.ok(0, "boot")
	assert.Equal(t, 1, strings.Count(r.stderr, "boot: configuration: policy module "+mod+" is refused: module sha256 does not match the pin"), r.stderr)
	assert.Contains(t, r.stderr, "the native fallback makes every decision of profile default")
	assert.Contains(t, r.stderr, "boot: configuration: 1 problem")

	r = e.cli(0, "config", "check")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "policy module "+mod+" is refused: module sha256 does not match the pin: pinned "+pin)

	s6test.Start(t, e.scandir)
	r = e.ok(0, "gateway", "start")
	assert.Contains(t, r.stderr, "supervisor: warning: default: policy module "+mod+" does not match policy.sha256")
	r = e.ok(0, "gateway", "status")
	assert.Contains(t, r.stdout, "does not match policy.sha256 (pinned 000000000000…")
	assert.Contains(t, r.stdout, "the native fallback makes its decisions")
	e.ok(0, "gateway", "stop")
	r = e.ok(0, "explain", "--last", "1")
	assert.Contains(t, r.stdout, "native fallback decided (")
	assert.Contains(t, r.stdout, "sha256 does not match the pin")
}
