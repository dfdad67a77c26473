package boot_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

var update = flag.Bool("update", false, "rewrite golden files")

var bootTime = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

// home builds a volume with the root profile and named profiles in every
// prior state, plus entries that are not (usable) profiles.
func home(t testing.TB) string {
	t.Helper()
	h := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(h, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	prof := func(name string) profile.Paths {
		p, err := profile.For(h, name)
		require.NoError(t, err)
		if name != profile.Root {
			write("profiles/"+name+"/profile.toml", "")
		}
		return p
	}
	setState := func(p profile.Paths, json string) {
		write(strings.TrimPrefix(p.State, h+"/"), json)
	}
	life := func(p profile.Paths, clean bool) {
		l, err := state.BeginLife(p.Ledger, state.Proc{Pid: 4242, StartTime: 99}, bootTime.Add(-time.Hour))
		require.NoError(t, err)
		if clean {
			require.NoError(t, state.EndLife(p.Ledger, l, 0, "operator stop", bootTime.Add(-time.Minute)))
		}
	}

	d := prof("default") // killed by a container restart: revive
	setState(d, `{"gateway_state":"running","desired_state":"running","timestamp":1795600000}`)
	life(d, false)
	write("gateway.pid", "4242\n")
	write("processes.json", "{}")

	c := prof("coder") // stopped by its operator
	setState(c, `{"gateway_state":"stopped","desired_state":"stopped"}`)
	life(c, true)

	prof("fresh") // never ran

	setState(prof("legacy"), "\ufeff"+`{"gateway_state":"running","extra":1}`) // hermes' own file: no desired_state

	setState(prof("draining"), `{"gateway_state":"draining","desired_state":"running"}`)
	setState(prof("degraded"), `{"gateway_state":"degraded"}`)
	setState(prof("starting"), `{"gateway_state":"starting"}`)
	setState(prof("failed"), `{"gateway_state":"startup_failed","desired_state":"stopped"}`)
	setState(prof("restarting"), `{"gateway_state":"stopped","desired_state":"running"}`)
	setState(prof("garbled"), `{"gateway_state":`) // unreadable: not JSON
	u := prof("unreadable")                        // unreadable: a directory where the file should be
	require.NoError(t, os.MkdirAll(u.State, 0o755))

	write("profiles/badconf/profile.toml", "[gateway]\nstop_grace = \"soon\"\n") // broken profile.toml
	write("profiles/Bad_Name/profile.toml", "")                                  // not a valid name
	require.NoError(t, os.MkdirAll(filepath.Join(h, "profiles", "notaprofile", "junk"), 0o755))
	return h
}

func options(t testing.TB, h string, dry bool) boot.Options {
	t.Helper()
	c := config.Default()
	c.Home = h
	require.NoError(t, volume.Confine(h)) // as the command does
	c.Scandir = filepath.Join(t.TempDir(), "service")
	if os.Geteuid() != 0 {
		c.Gateway.User = ""
	}
	pool := engine.NewPool(nil)
	t.Cleanup(func() { pool.Close(context.Background()) })
	return boot.Options{Config: c, Policies: pool, Tools: &s6.Tools{}, Exe: "/usr/local/bin/supervisor", Now: bootTime, DryRun: dry,
		ContainerArgv: []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "sleep", "infinity"}, Getenv: func(string) string { return "" }}
}

// golden compares the boot log with testdata/boot.golden; {policy} there
// stands for the identity of the policy that decided.
// and {home} for the home directory.
func golden(t *testing.T, got, identity, home string) {
	t.Helper()
	path := filepath.Join("testdata", "boot.golden")
	if *update {
		g := strings.ReplaceAll(got, "policy="+identity+" ", "policy={policy} ")
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(g, home, "{home}")), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	w := strings.ReplaceAll(strings.ReplaceAll(string(want), "{policy}", identity), "{home}", home)
	assert.Equal(t, w, got)
}

func TestBootEveryPriorState(t *testing.T) {
	h := home(t)
	o := options(t, h, false)
	rep, err := boot.Run(context.Background(), o)
	require.NoError(t, err)
	outs := rep.Outcomes
	identity := outs[0].Policy
	require.NotEmpty(t, identity)

	log, err := os.ReadFile(profile.BootLog(h))
	require.NoError(t, err)
	golden(t, string(log), identity, h)
	assert.Equal(t, string(rep.Lines), string(log))
	for _, out := range outs {
		if out.Profile == "garbled" {
			require.Len(t, out.Warnings, 1)
			assert.Contains(t, out.Warnings[0].Error(), "state: ")
			assert.Contains(t, out.Warnings[0].Error(), "garbled")
		}
	}

	// Slots: up for started, down for registered, none for skipped.
	for _, out := range outs {
		dir := filepath.Join(o.Config.Scandir, slot.Name(out.Profile))
		switch out.Action {
		case boot.ActionStarted:
			assert.FileExists(t, filepath.Join(dir, "run"), out.Profile)
			assert.NoFileExists(t, filepath.Join(dir, "down"), out.Profile)
		case boot.ActionRegistered:
			assert.FileExists(t, filepath.Join(dir, "down"), out.Profile)
		case boot.ActionSkipped:
			assert.NoDirExists(t, dir, out.Profile)
		}
	}
	run, err := os.ReadFile(filepath.Join(o.Config.Scandir, "gateway-coder", "run"))
	require.NoError(t, err)
	assert.Contains(t, string(run), "/usr/local/bin/supervisor --home "+h+" --scandir "+o.Config.Scandir+" run -p coder --notify-fd 3")
	tk, err := os.ReadFile(filepath.Join(o.Config.Scandir, "gateway-coder", "timeout-kill"))
	require.NoError(t, err)
	assert.Equal(t, "15000\n", string(tk))

	// Stale runtime files are swept.
	assert.NoFileExists(t, filepath.Join(h, "gateway.pid"))
	assert.NoFileExists(t, filepath.Join(h, "processes.json"))

	// A second boot appends.
	_, err = boot.Run(context.Background(), o)
	require.NoError(t, err)
	log2, err := os.ReadFile(profile.BootLog(h))
	require.NoError(t, err)
	assert.Equal(t, string(log)+string(log), string(log2))
}

func TestBootDryRunChangesNothing(t *testing.T) {
	h := home(t)
	o := options(t, h, true)
	rep, err := boot.Run(context.Background(), o)
	require.NoError(t, err)
	golden(t, string(rep.Lines), rep.Outcomes[0].Policy, h)
	assert.NoFileExists(t, profile.BootLog(h))
	assert.NoDirExists(t, o.Config.Scandir)
	assert.FileExists(t, filepath.Join(h, "gateway.pid"))
}

func TestBootLogRotates(t *testing.T) {
	h := t.TempDir()
	path := profile.BootLog(h)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	old := bytes.Repeat([]byte("x"), boot.MaxLogSize)
	require.NoError(t, os.WriteFile(path, old, 0o644))
	o := options(t, h, false)
	_, err := boot.Run(context.Background(), o)
	require.NoError(t, err)
	rotated, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	assert.Equal(t, old, rotated)
	cur, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(cur), "2026-11-25T21:00:00Z profile=default prior_state=none action=registered prior_exit=unknown "), string(cur))
	assert.Equal(t, 1, strings.Count(string(cur), "\n"))
}

// A profiles that is not a directory boots the root profile anyway, as
// upstream's reconciler does, and says why no named profile was booted.
func TestBootProfilesNotADirectory(t *testing.T) {
	h := filepath.Join(t.TempDir(), "home")
	require.NoError(t, os.MkdirAll(h, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(h, "profiles"), nil, 0o644)) // profiles is a file
	o := options(t, h, false)
	rep, err := boot.Run(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, rep.Outcomes, 1)
	assert.Equal(t, "default", rep.Outcomes[0].Profile)
	assert.FileExists(t, filepath.Join(o.Config.Scandir, "gateway-default", "run"))
	require.Len(t, rep.Warnings, 1)
	assert.ErrorIs(t, rep.Warnings[0], boot.ErrNotBooted)
	assert.Contains(t, rep.Warnings[0].Error(), "profiles/ is a regular file")
}

func TestOutcomeLine(t *testing.T) {
	for name, tc := range map[string]struct {
		o    boot.Outcome
		want string
	}{
		"spec example": {boot.Outcome{Profile: "coder", PriorState: "running", PriorExit: 2, Action: "started", Policy: "default@3f2a9c1b", Reason: "desired running"},
			`2026-11-25T21:00:00Z profile=coder prior_state=running action=started prior_exit=unclean policy=default@3f2a9c1b reason="desired running"`},
		"no state": {boot.Outcome{Profile: "x", Action: "registered", Policy: "p@1", Reason: "no state"},
			`2026-11-25T21:00:00Z profile=x prior_state=none action=registered prior_exit=unknown policy=p@1 reason="no state"`},
		"bad name quoted": {boot.Outcome{Profile: "Bad Name", Action: "skipped", Reason: `say "hi"`},
			`2026-11-25T21:00:00Z profile="Bad Name" prior_state=none action=skipped prior_exit=unknown policy=none reason="say \"hi\""`},
		"a newline never breaks the line": {boot.Outcome{Profile: "a\nb", PriorState: `"running\n"`, Action: "skipped", Reason: "x\ny"},
			`2026-11-25T21:00:00Z profile="a\nb" prior_state="running\n" action=skipped prior_exit=unknown policy=none reason="x\ny"`},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.o.Line(bootTime.In(time.FixedZone("x", 3600))))
		})
	}
}

// A profile whose profile.toml names another policy module is decided by
// that module; the others keep the top-level one.
func TestBootProfilePolicyOverride(t *testing.T) {
	h := t.TempDir()
	// A profile's own module is on the volume, where its gateway user put it.
	src, err := os.ReadFile(filepath.Join("..", "..", "policies", "examples", "always", "always.wasm"))
	require.NoError(t, err)
	always := filepath.Join(h, "policies", "always.wasm")
	require.NoError(t, os.MkdirAll(filepath.Dir(always), 0o755))
	require.NoError(t, os.WriteFile(always, src, 0o644))
	for name, toml := range map[string]string{
		"eager":  "[policy]\nmodule = \"" + always + "\"\n",
		"plain":  "",
		"pinned": "[policy]\nmodule = \"" + always + "\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\non_error = \"fail\"\n",
	} {
		p, err := profile.For(h, name)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(p.Dir, 0o755))
		require.NoError(t, os.WriteFile(p.Config, []byte(toml), 0o644))
		_, err = state.Set(p.State, state.Change{Gateway: 6, Desired: 6}, bootTime) // stopped
		require.NoError(t, err)
	}
	o := options(t, h, true)
	counted := &countingPool{Pool: o.Policies.(*engine.Pool), opened: map[engine.Decider]bool{}}
	o.Policies = counted
	rep, err := boot.Run(context.Background(), o)
	require.NoError(t, err)
	outs := rep.Outcomes
	got := map[string]boot.Outcome{}
	for _, out := range outs {
		got[out.Profile] = out
	}
	assert.Equal(t, boot.ActionStarted, got["eager"].Action, "always starts a stopped profile: %+v", got["eager"])
	assert.True(t, strings.HasPrefix(got["eager"].Policy, "always@"), got["eager"].Policy)
	assert.Equal(t, boot.ActionRegistered, got["plain"].Action, "the default keeps it down: %+v", got["plain"])
	assert.True(t, strings.HasPrefix(got["plain"].Policy, "default@"), got["plain"].Policy)
	assert.Equal(t, boot.ActionSkipped, got["pinned"].Action, "a pin mismatch with on_error=fail skips the profile: %+v", got["pinned"])
	assert.Contains(t, got["pinned"].Reason, "sha256")
	assert.Len(t, counted.opened, 2, "one engine per distinct [policy]: the default and always (the pinned one fails to open)")
}

// countingPool counts the distinct engines a Pool hands out.
type countingPool struct {
	*engine.Pool
	mu     sync.Mutex
	opened map[engine.Decider]bool
}

func (c *countingPool) For(ctx context.Context, cfg config.Config) (engine.Decider, error) {
	d, err := c.Pool.For(ctx, cfg)
	if err == nil {
		c.mu.Lock()
		c.opened[d] = true
		c.mu.Unlock()
	}
	return d, err
}
