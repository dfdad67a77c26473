package ops_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// runningGateway creates profile coder and has real s6 run a stand-in for
// its gateway (a shell that exits on SIGTERM).
func runningGateway(t *testing.T, o *ops.Ops) (profile.Paths, string) {
	t.Helper()
	ctx := context.Background()
	_, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	s6test.Start(t, o.Config.Scandir)
	p, err := profile.For(o.Config.Home, "coder")
	require.NoError(t, err)
	slot := filepath.Join(o.Config.Scandir, "gateway-coder")
	require.NoError(t, o.Tools.Publish(o.Config.Scandir, s6.Slot{Name: "gateway-coder",
		Run: []string{"/bin/sh", "-c", `trap "exit 0" TERM; while :; do sleep 0.05; done`}}))
	require.NoError(t, o.Tools.Rescan(ctx, o.Config.Scandir, false))
	require.NoError(t, o.Tools.Control(ctx, slot, s6.Up, 10*time.Second))
	return p, slot
}

// TestNoLockOut: a broken or removed profile.toml never locks an operator
// out of a gateway s6 runs: stop, status and delete work from s6's view and
// the state files, and status shows the problem beside s6's real state.
func TestNoLockOut(t *testing.T) {
	for name, breakIt := range map[string]func(p profile.Paths) error{
		"broken profile.toml": func(p profile.Paths) error {
			return os.WriteFile(p.Config, []byte("[gateway]\nstop_grace = \"5\"\n"), 0o644)
		},
		"removed profile.toml": func(p profile.Paths) error { return os.Remove(p.Config) },
	} {
		t.Run(name, func(t *testing.T) {
			o := newOps(t)
			ctx := context.Background()
			p, slot := runningGateway(t, o)
			require.NoError(t, breakIt(p))

			st, err := o.Status(ctx, "coder")
			require.NoError(t, err)
			require.NotNil(t, st.S6, st.S6Error)
			assert.True(t, st.S6.Up, "s6's real state")
			require.Len(t, st.Notes, 1)
			if strings.HasPrefix(name, "broken") {
				assert.Contains(t, st.Notes[0], "gateway.stop_grace in "+p.Config)
			} else {
				assert.Equal(t, ops.NoteOrphan, st.Notes[0])
			}
			all, _, err := o.StatusAll(ctx)
			require.NoError(t, err)
			require.Len(t, all, 2)
			assert.Equal(t, "coder", all[1].Profile)
			names, _, err := o.ListProfiles()
			require.NoError(t, err)
			assert.Equal(t, []string{"default", "coder"}, names, "profile list keeps it")

			err = o.Start(ctx, "coder")
			require.Error(t, err, "start needs a usable configuration")

			require.NoError(t, o.Stop(ctx, "coder"))
			s, err := o.Tools.Status(ctx, slot)
			require.NoError(t, err)
			assert.False(t, s.Up)
			f, err := state.Read(p.State)
			require.NoError(t, err)
			assert.Equal(t, "stopped", f.DesiredState)

			require.NoError(t, o.DeleteProfile(ctx, "coder"))
			assert.NoDirExists(t, slot)
			assert.NoDirExists(t, p.Dir)
			_, err = o.Status(ctx, "coder")
			require.ErrorIs(t, err, ops.ErrNoProfile)
		})
	}
}

// TestStatusNeverRan: a slot s6 has not run since its supervisor started
// says so (its exit code 0 means nothing); one that ran and exited does
// not.
func TestStatusNeverRan(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	s6test.Start(t, o.Config.Scandir)
	res, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	require.True(t, res.Registered)
	st, err := o.Status(ctx, "coder")
	require.NoError(t, err)
	require.NotNil(t, st.S6, st.S6Error)
	assert.False(t, st.S6.Up)
	assert.True(t, st.NeverRan)

	slot := filepath.Join(o.Config.Scandir, "gateway-coder")
	require.NoError(t, o.Tools.Publish(o.Config.Scandir, s6.Slot{Name: "gateway-coder", Run: []string{"/bin/sh", "-c", "exit 0"}, Down: true}))
	require.NoError(t, o.Tools.Control(ctx, slot, s6.Up, 0))
	require.NoError(t, o.Tools.Control(ctx, slot, s6.Down, 10*time.Second))
	require.Eventually(t, func() bool {
		n, err := o.Tools.Deaths(ctx, slot)
		return err == nil && n > 0
	}, 10*time.Second, 20*time.Millisecond)
	st, err = o.Status(ctx, "coder")
	require.NoError(t, err)
	assert.False(t, st.NeverRan)
}

// TestReset: gateway reset clears what the policy counts crashes in, and
// status no longer reports the policy's give-up.
func TestReset(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	_, slot := runningGateway(t, o)
	p, err := profile.For(o.Config.Home, "coder")
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, state.AppendHistory(p.History, hostabi.ExitRecord{Time: o.Now(), ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}))
	}
	_, err = state.Set(p.State, state.Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateRunning, Reason: "crash loop: 5 crashes within 10m0s: stop",
		Policy: "crashloop@9d1e0c4a", Trigger: "exited"}, o.Now())
	require.NoError(t, err)
	require.NoError(t, state.DeferRestart(p.Ledger, o.Now().Add(time.Hour)))
	// s6 has seen the gateway die once.
	require.NoError(t, o.Tools.Control(ctx, slot, s6.Restart, 10*time.Second))
	require.Eventually(t, func() bool { n, _ := o.Tools.Deaths(ctx, slot); return n > 0 }, 10*time.Second, 20*time.Millisecond)

	st, err := o.Status(ctx, "coder")
	require.NoError(t, err)
	require.Len(t, st.Notes, 1)
	assert.Equal(t, "stopped for good by policy crashloop@9d1e0c4a: crash loop: 5 crashes within 10m0s: stop; `supervisor -p coder gateway reset` clears its crash history, then `gateway start` starts it", st.Notes[0])

	c, err := o.Reset(ctx, "coder")
	require.NoError(t, err)
	assert.Equal(t, 3, c.Exits)
	assert.Equal(t, o.Now().Add(time.Hour), c.RestartDelay.UTC())
	assert.Empty(t, c.Warnings)
	assert.NoFileExists(t, p.History)
	led, ok, err := state.ReadLedger(p.Ledger)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, led.RestartNotBefore.IsZero())
	n, err := o.Tools.Deaths(ctx, slot)
	require.NoError(t, err)
	assert.Zero(t, n, "s6's death tally cleared")
	f, err := state.Read(p.State)
	require.NoError(t, err)
	assert.Equal(t, "stopped", f.GatewayState, "states kept")
	assert.Equal(t, ops.ReasonReset, f.Reason)
	assert.Empty(t, f.Policy)
	st, err = o.Status(ctx, "coder")
	require.NoError(t, err)
	assert.Empty(t, st.Notes)

	c, err = o.Reset(ctx, "coder")
	require.NoError(t, err, "again: nothing to clear")
	assert.Zero(t, c.Exits)
	_, err = o.Reset(ctx, "typo")
	require.ErrorIs(t, err, ops.ErrNoProfile)
}

// TestStatusModuleNotes: status says when a profile's module is refused
// before it is compiled (missing, or not its pin), and when the fallback
// made the last decision.
func TestStatusModuleNotes(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	_, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	dir := filepath.Join(o.Config.Home, "policies") // a profile.toml may only name a module on the volume
	require.NoError(t, os.MkdirAll(dir, 0o755))
	mod := filepath.Join(dir, "m.wasm")
	require.NoError(t, os.WriteFile(mod, []byte("module bytes"), 0o644))
	sum := sha256.Sum256([]byte("module bytes"))
	digest := hex.EncodeToString(sum[:])
	p, err := profile.For(o.Config.Home, "coder")
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		module, pin, onError string
		want                 string
	}{
		"embedded":      {},
		"pinned":        {module: mod, pin: digest},
		"missing":       {module: filepath.Join(dir, "gone.wasm"), want: "policy module " + filepath.Join(dir, "gone.wasm") + " cannot be read (no such file or directory): the native fallback makes its decisions"},
		"missing, fail": {module: filepath.Join(dir, "gone.wasm"), onError: "fail", want: `its gateway cannot start (policy.on_error = "fail")`},
		"wrong pin":     {module: mod, pin: strings.Repeat("0", 64), want: "policy module " + mod + " does not match policy.sha256 (pinned 000000000000…, the file has " + digest[:12] + "…)"},
		"a directory":   {module: dir, want: "cannot be read (not a regular file)"},
	} {
		t.Run(name, func(t *testing.T) {
			toml := "[policy]\nmodule = \"" + tc.module + "\"\nsha256 = \"" + tc.pin + "\"\n"
			if tc.onError != "" {
				toml += "on_error = \"" + tc.onError + "\"\n"
			}
			require.NoError(t, os.WriteFile(p.Config, []byte(toml), 0o644))
			st, err := o.Status(ctx, "coder")
			require.NoError(t, err)
			if tc.want == "" {
				assert.Empty(t, st.Notes)
				return
			}
			require.Len(t, st.Notes, 1)
			assert.Contains(t, st.Notes[0], tc.want)
		})
	}

	require.NoError(t, os.WriteFile(p.Config, nil, 0o644))
	_, err = state.Set(p.State, state.Change{Gateway: hostabi.StateRunning, Reason: "x", Policy: policy.FallbackIdentity}, o.Now())
	require.NoError(t, err)
	st, err := o.Status(ctx, "coder")
	require.NoError(t, err)
	require.Len(t, st.Notes, 1)
	assert.Contains(t, st.Notes[0], "the last decision was made by the native fallback because the policy module failed")
	assert.Equal(t, policy.FallbackIdentity, ops.FallbackIdentity)
}
