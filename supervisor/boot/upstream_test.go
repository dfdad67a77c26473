package boot_test

// Upstream's reconciler tests (hermes-agent tests/hermes_cli/
// test_container_boot.py) about mechanism rather than the policy's
// decision (those are fixtures: policies/default/fixtures/upstream.toml),
// case by case, and the differences from upstream this supervisor keeps
// on purpose (README.md, "Migrating from upstream's image").

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
)

// vol is a scratch volume for one case.
type vol struct {
	t    *testing.T
	home string
}

func newVol(t *testing.T) *vol { return &vol{t, t.TempDir()} }

func (v *vol) write(rel, content string) {
	p := filepath.Join(v.home, rel)
	require.NoError(v.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(v.t, os.WriteFile(p, []byte(content), 0o644))
}

// soul makes profiles/name a profile as upstream's does (SOUL.md).
func (v *vol) soul(name, state string) {
	v.write("profiles/"+name+"/SOUL.md", "# "+name+"\n")
	if state != "" {
		v.write("profiles/"+name+"/gateway_state.json", state)
	}
}

// boot runs a boot of v (dry or not) with argv as the container's command
// and env as boot's environment.
func (v *vol) boot(dry bool, argv []string, env map[string]string) (boot.Report, map[string]boot.Outcome) {
	o := options(v.t, v.home, dry)
	if argv != nil {
		o.ContainerArgv = argv
	}
	o.Getenv = func(k string) string { return env[k] }
	rep, err := boot.Run(context.Background(), o)
	require.NoError(v.t, err)
	by := map[string]boot.Outcome{}
	for _, out := range rep.Outcomes {
		by[out.Profile] = out
	}
	return rep, by
}

func profiles(rep boot.Report) []string {
	var names []string
	for _, o := range rep.Outcomes {
		names = append(names, o.Profile)
	}
	return names
}

func TestUpstreamBootCases(t *testing.T) {
	t.Run("test_stale_runtime_files_are_removed", func(t *testing.T) {
		v := newVol(t)
		v.soul("coder", `{"gateway_state":"stopped"}`)
		v.write("profiles/coder/gateway.pid", `{"pid": 99999, "host": "old-container"}`)
		v.write("profiles/coder/processes.json", `[]`)
		v.boot(false, nil, nil)
		assert.NoFileExists(t, filepath.Join(v.home, "profiles/coder/gateway.pid"))
		assert.NoFileExists(t, filepath.Join(v.home, "profiles/coder/processes.json"))
	})
	t.Run("test_default_slot_cleans_up_stale_runtime_files_at_root", func(t *testing.T) {
		v := newVol(t)
		v.write("gateway.pid", `{"pid": 99999}`)
		v.write("processes.json", `[]`)
		v.boot(false, nil, nil)
		assert.NoFileExists(t, filepath.Join(v.home, "gateway.pid"))
		assert.NoFileExists(t, filepath.Join(v.home, "processes.json"))
	})
	t.Run("test_directory_without_marker_file_is_skipped (no line; a warning)", func(t *testing.T) {
		v := newVol(t)
		v.write("profiles/stray/notes.txt", "x")
		rep, _ := v.boot(false, nil, nil)
		assert.Equal(t, []string{"default"}, profiles(rep))
		require.Len(t, rep.Warnings, 1)
		assert.ErrorIs(t, rep.Warnings[0], boot.ErrNotBooted)
		assert.Equal(t, "not booted: profiles/stray: holds neither SOUL.md nor profile.toml: not a profile", rep.Warnings[0].Error())
	})
	t.Run("test_profiles_default_subdir_is_skipped_with_warning (no second default line)", func(t *testing.T) {
		v := newVol(t)
		v.soul("default", `{"gateway_state":"running"}`)
		rep, _ := v.boot(false, nil, nil)
		assert.Equal(t, []string{"default"}, profiles(rep))
		assert.Equal(t, 1, strings.Count(string(rep.Lines), "profile=default "))
		require.Len(t, rep.Warnings, 1)
		assert.Contains(t, rep.Warnings[0].Error(), `not booted: profiles/default: invalid profile name: "default" is reserved for the root profile`)
	})
	t.Run("test_default_slot_appears_before_named_profiles", func(t *testing.T) {
		v := newVol(t)
		v.soul("z-last", "")
		v.soul("a-first", "")
		rep, _ := v.boot(true, nil, nil)
		assert.Equal(t, []string{"default", "a-first", "z-last"}, profiles(rep))
	})
	t.Run("code-point order, skipped entries in place", func(t *testing.T) {
		v := newVol(t)
		v.soul("zulu", "")
		v.soul("alpha", "")
		v.soul("Mike", "") // upstream raises on it; ours: a skipped line, in its place
		require.NoError(t, os.Symlink("alpha", filepath.Join(v.home, "profiles", "mid")))
		rep, by := v.boot(true, nil, nil)
		assert.Equal(t, []string{"default", "Mike", "alpha", "mid", "zulu"}, profiles(rep))
		assert.Equal(t, boot.ActionSkipped, by["Mike"].Action)
		assert.Equal(t, boot.ActionSkipped, by["mid"].Action)
		assert.Contains(t, by["mid"].Reason, "is a symlink")
	})
	t.Run("SOUL.md counts by existence: a directory, a symlink within the volume", func(t *testing.T) {
		v := newVol(t)
		require.NoError(t, os.MkdirAll(filepath.Join(v.home, "profiles", "dir", "SOUL.md"), 0o755))
		v.write("shared/SOUL.md", "x")
		require.NoError(t, os.MkdirAll(filepath.Join(v.home, "profiles", "link"), 0o755))
		require.NoError(t, os.Symlink("../../shared/SOUL.md", filepath.Join(v.home, "profiles", "link", "SOUL.md")))
		require.NoError(t, os.MkdirAll(filepath.Join(v.home, "profiles", "dangling"), 0o755))
		require.NoError(t, os.Symlink("nowhere", filepath.Join(v.home, "profiles", "dangling", "SOUL.md")))
		rep, _ := v.boot(true, nil, nil)
		assert.Equal(t, []string{"default", "dir", "link"}, profiles(rep))
	})
	t.Run("test_main_reconciles: prior_state logs the deciding intent, raw", func(t *testing.T) {
		v := newVol(t)
		v.soul("stopped", `{"gateway_state":"running","desired_state":"stopped"}`)
		v.soul("empty", `{"gateway_state":"running","desired_state":""}`)
		v.soul("spaced", `{"desired_state":" running"}`)
		v.soul("newline", `{"desired_state":"running\n"}`)
		v.soul("drain", `{"desired_state":"draining"}`)
		v.soul("drained", `{"gateway_state":"draining"}`)
		v.soul("nan", `{"gateway_state":"running","timestamp":NaN}`)
		v.soul("garbage", `{"gateway_state":`)
		rep, by := v.boot(true, nil, nil)
		want := map[string][2]string{
			"stopped": {"stopped", "registered"},
			"empty":   {`""`, "registered"},
			"spaced":  {`" running"`, "registered"},
			"newline": {`"running\n"`, "registered"},
			"drain":   {"draining", "registered"},
			"drained": {"running", "started"},
			"nan":     {"running", "started"},
			"garbage": {"none", "registered"},
		}
		for name, w := range want {
			assert.Equal(t, w[0], by[name].PriorState, name)
			assert.Equal(t, w[1], by[name].Action, name)
		}
		assert.Equal(t, len(rep.Outcomes), strings.Count(string(rep.Lines), "\n"), "one line per outcome: no value breaks a line")
	})
}

// TestBootSeeds: upstream's legacy migration (#34339, #35341) and first
// boot (#37896) are the default policy's decisions; boot persists what it
// seeds, and only a real boot writes.
func TestBootSeeds(t *testing.T) {
	legacy := []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"}
	read := func(t *testing.T, home string) map[string]any {
		data, err := os.ReadFile(filepath.Join(home, "gateway_state.json"))
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		return m
	}
	t.Run("test_legacy_gateway_run_cmd_seeds_default_running_state", func(t *testing.T) {
		v := newVol(t)
		_, by := v.boot(true, legacy, nil)
		assert.Equal(t, boot.ActionStarted, by["default"].Action)
		assert.Equal(t, "running", by["default"].PriorState)
		assert.NoFileExists(t, filepath.Join(v.home, "gateway_state.json"), "a dry run writes nothing")
		rep, by := v.boot(false, legacy, nil)
		assert.Equal(t, boot.ActionStarted, by["default"].Action)
		assert.Contains(t, string(rep.Lines), `profile=default prior_state=running action=started prior_exit=unknown`)
		m := read(t, v.home)
		assert.Equal(t, "running", m["gateway_state"])
		assert.Equal(t, "running", m["desired_state"])
		assert.Equal(t, "boot", m["trigger"])
		_, by = v.boot(false, legacy, nil)
		assert.Nil(t, by["default"].Seeded, "a state file is there now: nothing is seeded again")
	})
	t.Run("test_legacy_gateway_run_no_supervise_does_not_seed_s6_state", func(t *testing.T) {
		v := newVol(t)
		_, by := v.boot(false, append(legacy, "--no-supervise"), nil)
		assert.Equal(t, boot.ActionRegistered, by["default"].Action)
		assert.NoFileExists(t, filepath.Join(v.home, "gateway_state.json"))
	})
	t.Run("test_legacy_gateway_run_env_no_supervise_does_not_seed_s6_state", func(t *testing.T) {
		v := newVol(t)
		_, by := v.boot(false, legacy, map[string]string{boot.EnvNoSupervise: "1"})
		assert.Equal(t, boot.ActionRegistered, by["default"].Action)
		assert.NoFileExists(t, filepath.Join(v.home, "gateway_state.json"))
	})
	t.Run("test_default_slot_does_not_autostart_when_root_state_stopped", func(t *testing.T) {
		v := newVol(t)
		v.write("gateway_state.json", `{"gateway_state":"stopped"}`)
		_, by := v.boot(false, legacy, nil)
		assert.Equal(t, boot.ActionRegistered, by["default"].Action)
		assert.Equal(t, "stopped", read(t, v.home)["gateway_state"], "unchanged")
	})
	t.Run("HERMES_GATEWAY_BOOTSTRAP_STATE=running on a blank volume", func(t *testing.T) {
		v := newVol(t)
		rep, by := v.boot(false, nil, map[string]string{boot.EnvBootstrapState: "running"})
		assert.Equal(t, boot.ActionStarted, by["default"].Action)
		assert.Contains(t, string(rep.Lines), `profile=default prior_state=running action=started`)
		m := read(t, v.home)
		assert.Equal(t, "running", m["gateway_state"])
		assert.NotContains(t, m, "desired_state", "as upstream's hook: gateway_state only")
	})
	t.Run("bootstrap seeds only the root profile, and never over a file", func(t *testing.T) {
		v := newVol(t)
		v.soul("coder", "")
		require.NoError(t, os.Mkdir(filepath.Join(v.home, "gateway_state.json"), 0o755)) // there, unreadable
		_, by := v.boot(false, legacy, map[string]string{boot.EnvBootstrapState: "running"})
		assert.Equal(t, boot.ActionRegistered, by["default"].Action)
		assert.Equal(t, boot.ActionRegistered, by["coder"].Action)
		assert.NoFileExists(t, filepath.Join(v.home, "profiles/coder/gateway_state.json"))
	})
	t.Run("a dangling symlink is a state file (never written through): nothing seeded (deliberate)", func(t *testing.T) {
		v := newVol(t)
		target := filepath.Join(t.TempDir(), "elsewhere.json")
		require.NoError(t, os.Symlink(target, filepath.Join(v.home, "gateway_state.json")))
		_, by := v.boot(false, legacy, map[string]string{boot.EnvBootstrapState: "running"})
		assert.Equal(t, boot.ActionRegistered, by["default"].Action)
		assert.NoFileExists(t, target)
	})
	t.Run("the seeded file goes to the volume's owner", func(t *testing.T) {
		v := newVol(t)
		want := uint32(os.Geteuid()) // not root: a file of one's own
		if os.Geteuid() == 0 {
			require.NoError(t, os.Chown(v.home, 10000, 10000))
			want = 10000
		}
		v.boot(false, legacy, nil)
		for _, f := range []string{"gateway_state.json", "gateway_state.json.lock"} {
			fi, err := os.Stat(filepath.Join(v.home, f))
			require.NoError(t, err)
			assert.Equal(t, want, fi.Sys().(*syscall.Stat_t).Uid, f)
		}
	})
}

// GATEWAY_MULTIPLEX_PROFILES overrides multiplex_profiles when it says a
// boolean hermes recognizes (test_env_true_wins, test_blank_env_falls_through_to_config).
func TestBootMultiplexEnv(t *testing.T) {
	for env, want := range map[string]string{"": boot.ActionStarted, "true": boot.ActionRegistered, " ON ": boot.ActionRegistered,
		"1": boot.ActionRegistered, "off": boot.ActionStarted, "2": boot.ActionStarted} {
		v := newVol(t)
		v.soul("work", `{"gateway_state":"running"}`)
		_, by := v.boot(true, nil, map[string]string{boot.EnvMultiplex: env})
		assert.Equal(t, want, by["work"].Action, "GATEWAY_MULTIPLEX_PROFILES=%q", env)
		assert.Equal(t, boot.ActionRegistered, by["default"].Action)
	}
}

// TestBootContainerArgv: the container's command is found as upstream's
// reconciler finds it.
func TestBootContainerArgv(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, argv string) {
		require.NoError(t, os.MkdirAll(filepath.Join(proc, pid), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(argv), 0o644))
	}
	write("1", "s6-svscan\x00-t0\x00/run/service\x00")
	assert.Nil(t, boot.ContainerArgv(proc), "no process holds the wrapper")
	write("77", "/bin/sh\x00-e\x00/run/s6/basedir/scripts/rc.init\x00top\x00/opt/hermes/docker/main-wrapper.sh\x00gateway\x00run\x00")
	write("120", "/opt/hermes/docker/main-wrapper.sh\x00dashboard\x00")
	write("self", "x")
	assert.Equal(t, []string{"/bin/sh", "-e", "/run/s6/basedir/scripts/rc.init", "top", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"},
		boot.ContainerArgv(proc), "the first process in pid order (s6-overlay v3)")
	write("1", "/init\x00/opt/hermes/docker/main-wrapper.sh\x00\x00gateway\x00run\x00")
	assert.Equal(t, []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"}, boot.ContainerArgv(proc), "PID 1 first (v2), empty words dropped")
}
