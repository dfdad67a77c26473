package hermes

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBootLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		time       string
		fields     map[string]string
	}{
		{"upstream 0.19.0", "2026-12-02T16:47:48+0000 profile=coder prior_state=None action=registered",
			"2026-12-02T16:47:48+0000", map[string]string{"profile": "coder", "prior_state": "None", "action": "registered"}},
		{"upstream empty prior_state", "2026-12-02T16:47:48+0000 profile=coder prior_state= action=registered",
			"2026-12-02T16:47:48+0000", map[string]string{"profile": "coder", "prior_state": "", "action": "registered"}},
		{"ours", `2026-11-25T21:00:00Z profile=coder prior_state=running action=started prior_exit=unclean policy=default@3f2a9c1b reason="desired running"`,
			"2026-11-25T21:00:00Z", map[string]string{"profile": "coder", "prior_state": "running", "action": "started",
				"prior_exit": "unclean", "policy": "default@3f2a9c1b", "reason": "desired running"}},
		{"ours, quoted name", `2026-11-25T21:00:00Z profile="bad name\xff" action=skipped reason="x \"y\""`,
			"2026-11-25T21:00:00Z", map[string]string{"profile": "bad name\xff", "action": "skipped", "reason": `x "y"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseBootLine(tc.line)
			require.NoError(t, err)
			assert.Equal(t, tc.time, l.Time)
			assert.Equal(t, tc.fields, l.Fields)
		})
	}
	for _, bad := range []string{"", "nospace", "t profile", `t reason="open`, "t a=1 a=2"} {
		_, err := ParseBootLine(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// Every generated volume builds, and names are unique (they key the
// parity report).
func TestCasesBuild(t *testing.T) {
	root := t.TempDir()
	seen := map[string]bool{}
	vs := Cases(1, 20)
	require.Greater(t, len(vs), 250)
	for i, v := range vs {
		require.False(t, seen[v.Name], "duplicate volume name %q", v.Name)
		seen[v.Name] = true
		home := filepath.Join(root, strconv.Itoa(i))
		require.NoError(t, os.MkdirAll(home, 0o755))
		require.NoError(t, v.Build(home), v.Name)
	}
	assert.Equal(t, len(Cases(1, 20)), len(vs), "the same seed gives the same volumes")
}

// The drivers against the installed hermes-agent: behind HERMES_TEST_LONG
// (tests/run.sh installs it). A missing venv fails, saying how to install.
func TestDriversLong(t *testing.T) {
	if os.Getenv("HERMES_TEST_LONG") == "" {
		t.Skip("set HERMES_TEST_LONG=1 (tests/run.sh does) to run hermes-agent")
	}
	venv, err := FindVenv()
	require.NoError(t, err)
	ctx := context.Background()
	home := t.TempDir()
	v := Volume{Name: "t", Profiles: []ProfileSpec{
		profile("writer", RulePlain, `{"gateway_state":"running","desired_state":"stopped"}`),
		profile("coder", RulePlain, `{"gateway_state":"draining"}`),
	}}
	require.NoError(t, v.Build(home))

	up, err := venv.Reconcile(ctx, home, ReconcileOptions{Argv: []string{}})
	require.NoError(t, err)
	require.True(t, up.OK, up.Error)
	require.Len(t, up.Profiles, 3)
	assert.Equal(t, []string{"default", "coder", "writer"}, []string{up.Profiles[0].Name(), up.Profiles[1].Name(), up.Profiles[2].Name()})
	assert.Equal(t, "started", up.Profiles[1].Action)
	assert.Equal(t, `"running"`, string(up.Profiles[1].PriorState))
	assert.Equal(t, "registered", up.Profiles[2].Action)
	assert.Equal(t, "stopped", up.Profiles[2].PriorStateLog)

	scan := t.TempDir()
	up, err = venv.Reconcile(ctx, home, ReconcileOptions{Apply: true, Scandir: scan, Argv: []string{"gateway", "run"}})
	require.NoError(t, err)
	require.True(t, up.OK, up.Error)
	assert.Equal(t, "running", up.Profiles[0].PriorStateLog, "the legacy command seeds the root profile")
	assert.Len(t, up.LogLines, 3)
	assert.Equal(t, map[string]bool{"gateway-default": false, "gateway-coder": false, "gateway-writer": true}, up.Slots)

	view, err := venv.Inspect(ctx, filepath.Join(home, "profiles", "writer"), 0, false)
	require.NoError(t, err)
	assert.Equal(t, Version, view["version"])
	assert.Equal(t, "running", view["gateway_state"])
	assert.Equal(t, "stopped", view["boot_prior_state"])
	assert.Nil(t, view["running_pid"])
}

// RunningLife needs every sign of a live gateway, and a life other than
// the one given.
func TestRunningLife(t *testing.T) {
	view := func(mut func(View, map[string]any)) View {
		rt := map[string]any{"pid": float64(45), "start_time": float64(1000), "desired_state": "running"}
		v := View{"gateway_state": "running", "runtime_status": rt, "running_pid": float64(45), "lock_active": true}
		if mut != nil {
			mut(v, rt)
		}
		return v
	}
	l, ok := view(nil).RunningLife(Life{})
	assert.True(t, ok)
	assert.Equal(t, Life{45, 1000}, l)
	_, ok = view(nil).RunningLife(Life{45, 1000})
	assert.False(t, ok, "the same life")
	_, ok = view(nil).RunningLife(Life{45, 999})
	assert.True(t, ok, "the same pid, another life")
	for name, mut := range map[string]func(View, map[string]any){
		"draining":        func(v View, _ map[string]any) { v["gateway_state"] = "draining" },
		"no status":       func(v View, _ map[string]any) { delete(v, "runtime_status") },
		"pid not running": func(v View, _ map[string]any) { v["running_pid"] = nil },
		"no lock":         func(v View, _ map[string]any) { v["lock_active"] = false },
		"not desired":     func(_ View, rt map[string]any) { rt["desired_state"] = "stopped" },
	} {
		_, ok := view(mut).RunningLife(Life{})
		assert.False(t, ok, name)
	}
}

func TestFought(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "p", "logs"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "s6log"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s6log", "current"), []byte("ok\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p", "logs", "errors.log"), []byte("x PID file race lost y\n"), 0o644))
	files := GatewayLogs(filepath.Join(dir, "s6log"), filepath.Join(dir, "p"))
	found, read := Fought(files)
	assert.Equal(t, 2, read)
	assert.Equal(t, []string{filepath.Join(dir, "p", "logs", "errors.log") + ": PID file race lost"}, found)
}
