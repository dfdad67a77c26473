package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// The test binary doubles as the supervisor binary: run with
// HERMES_SUPERVISOR_AS_MAIN=1, or under the name "supervisor", it is
// `supervisor`. TestMain copies it, under that name, where the unprivileged
// user can execute it; children started with the variable inherit it, and
// those the supervisor starts with a clean environment (boot's policy warm,
// the module reader) are recognised by the name.
const asMain = "HERMES_SUPERVISOR_AS_MAIN"

// binary is the supervisor binary the tests run.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" || filepath.Base(os.Args[0]) == "supervisor" {
		os.Exit(run(context.Background(), systemStreams(), os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "supervisor-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		self, err := os.Executable()
		if err == nil {
			binary = filepath.Join(dir, "supervisor")
			err = copyFile(self, binary)
		}
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "copy the test binary:", err)
			return 1
		}
		os.Setenv(asMain, "1")
		return m.Run()
	}()
	os.Exit(code)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// env is one simulated container: a home (the volume), a scan directory
// and a configuration file.
type env struct {
	t       *testing.T
	home    string
	scandir string
	config  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests switch to the unprivileged user hermes (uid 10000): run them as root")
	}
	base := t.TempDir()
	s6test.OpenUp(t, base)
	e := &env{t: t, home: filepath.Join(base, "home"), scandir: filepath.Join(base, "service"), config: filepath.Join(base, "hermes.toml")}
	require.NoError(t, os.MkdirAll(e.home, 0o755))
	require.NoError(t, os.Chown(e.home, 10000, 10000))
	require.NoError(t, os.WriteFile(e.config, []byte(fmt.Sprintf(`home = %q
scandir = %q
[gateway]
command = ["/bin/sleep", "1000"]
profile_args = []
user = "hermes"
stop_grace = "2s"
ready_after = "100ms"
`, e.home, e.scandir)), 0o644))
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the supervisor binary; uid 0 is root, else that user.
func (e *env) cli(uid int, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"--config", e.config}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run %v: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func (e *env) ok(uid int, args ...string) result {
	e.t.Helper()
	r := e.cli(uid, args...)
	require.Equal(e.t, 0, r.code, "supervisor %v: %s", args, r.stderr)
	return r
}

func (e *env) status(uid int, name string) ops.Status {
	e.t.Helper()
	r := e.ok(uid, "-p", name, "gateway", "status", "--output", "json")
	var st ops.Status
	require.NoError(e.t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	return st
}

func (e *env) paths(name string) profile.Paths {
	p, err := profile.For(e.home, name)
	require.NoError(e.t, err)
	return p
}

// lifecycle runs start, stop and restart as uid and checks the marker path.
func (e *env) lifecycle(uid int, name string) {
	t := e.t
	p := e.paths(name)
	e.ok(uid, "-p", name, "gateway", "start")
	st := e.status(uid, name)
	require.NotNil(t, st.S6, st.S6Error)
	assert.True(t, st.S6.Up)
	assert.True(t, st.S6.Ready)
	assert.Equal(t, "running", st.DesiredState)
	pid := st.S6.Pid

	e.ok(uid, "-p", name, "gateway", "stop")
	st = e.status(uid, name)
	require.NotNil(t, st.S6)
	assert.False(t, st.S6.Up)
	assert.False(t, st.S6.WantedUp)
	assert.Equal(t, "stopped", st.DesiredState)
	// The wrapper s6 supervised (pid) saw the marker naming it: an
	// operator's stop, persisted as stopped, the marker consumed.
	assert.Equal(t, "stopped", st.GatewayState)
	assert.NoFileExists(t, p.Marker, "the marker is consumed when honoured")
	f, err := state.Read(p.State)
	require.NoError(t, err)
	assert.Equal(t, "operator", f.Trigger)
	assert.Equal(t, "stopped", f.DesiredState)
	assert.NotZero(t, pid)

	e.ok(uid, "-p", name, "gateway", "start")
	pid = e.status(uid, name).S6.Pid
	e.ok(uid, "-p", name, "gateway", "restart")
	st = e.status(uid, name)
	require.NotNil(t, st.S6)
	assert.True(t, st.S6.Up)
	assert.NotEqual(t, pid, st.S6.Pid, "restart did not restart")
	assert.Equal(t, "running", st.DesiredState)
	assert.NoFileExists(t, p.Marker, "the restart marker is consumed when honoured")
	f, err = state.Read(p.State)
	require.NoError(t, err)
	assert.Equal(t, "running", f.GatewayState, "the new life is running")
	e.ok(uid, "-p", name, "gateway", "stop")
}

func TestOperatorLifecycle(t *testing.T) {
	t.Parallel() // its own volume, scan directory and s6-svscan
	e := newEnv(t)
	e.ok(0, "boot")
	s6test.Start(t, e.scandir)

	// Created while s6 runs: its slot is registered at once, down.
	r := e.ok(0, "profile", "create", "coder")
	assert.Contains(t, r.stderr, "registered its slot with s6 (down)")
	assert.FileExists(t, filepath.Join(e.scandir, "gateway-coder", "down"))
	st := e.status(0, "coder")
	require.NotNil(t, st.S6, st.S6Error)
	assert.False(t, st.S6.Up)
	fi, err := os.Stat(e.paths("coder").Dir)
	require.NoError(t, err)
	assert.Equal(t, uint32(10000), fi.Sys().(*syscall.Stat_t).Uid, "the profile belongs to the gateway user")

	// Created on the volume from outside: picked up by gateway start.
	outside := filepath.Join(e.home, "profiles", "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "profile.toml"), nil, 0o644))
	require.NoError(t, os.Chown(outside, 10000, 10000))

	t.Run("root", func(t *testing.T) {
		e.t = t
		e.lifecycle(0, "coder")
	})
	t.Run("unprivileged", func(t *testing.T) {
		e.t = t
		e.lifecycle(10000, "coder")
		e.lifecycle(10000, "default")
	})
	t.Run("picked up from the volume", func(t *testing.T) {
		e.t = t
		e.ok(0, "-p", "outside", "gateway", "start")
		assert.DirExists(t, filepath.Join(e.scandir, "gateway-outside"))
		st := e.status(0, "outside")
		require.NotNil(t, st.S6)
		assert.True(t, st.S6.Up)
	})
	t.Run("gateway output is logged", func(t *testing.T) {
		e.t = t
		current := filepath.Join(e.home, "logs", "gateways", "coder", "current")
		require.Eventually(t, func() bool {
			fi, err := os.Stat(current)
			return err == nil && fi.Size() > 0
		}, 10*time.Second, 20*time.Millisecond, "s6-log never wrote %s", current)
		fi, err := os.Stat(current)
		require.NoError(t, err)
		assert.Equal(t, uint32(10000), fi.Sys().(*syscall.Stat_t).Uid, "s6-log runs as the gateway user")
	})
	t.Run("status all", func(t *testing.T) {
		e.t = t
		r := e.ok(10000, "gateway", "status", "--all", "--output", "json")
		var all []ops.Status
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &all))
		var names []string
		for _, s := range all {
			names = append(names, s.Profile)
		}
		assert.Equal(t, []string{"default", "coder", "outside"}, names)
		r = e.ok(10000, "gateway", "status", "--all")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 4, r.stdout)
		assert.True(t, strings.HasPrefix(lines[0], "PROFILE\tS6\tPID"))
		assert.True(t, strings.HasPrefix(lines[3], "outside\tup\t"), lines[3])
	})
	t.Run("stop all", func(t *testing.T) {
		e.t = t
		e.ok(0, "gateway", "stop", "--all")
		for _, n := range []string{"default", "coder", "outside"} {
			st := e.status(0, n)
			require.NotNil(t, st.S6)
			assert.False(t, st.S6.Up, n)
		}
	})
	t.Run("delete", func(t *testing.T) {
		e.t = t
		e.ok(0, "profile", "delete", "outside")
		assert.NoDirExists(t, filepath.Join(e.scandir, "gateway-outside"))
		assert.NoDirExists(t, filepath.Join(e.home, "profiles", "outside"))
		r := e.ok(0, "profile", "list")
		assert.Equal(t, "default\ncoder\n", r.stdout)
	})
}

func TestOperatorErrors(t *testing.T) {
	e := newEnv(t)
	e.ok(0, "profile", "create", "coder") // s6 not running: no slot yet

	for name, tc := range map[string]struct {
		uid  int
		args []string
		code int
		want string
	}{
		"no such gateway": {0, []string{"-p", "typo", "gateway", "start"}, 1,
			"supervisor: no such gateway 'typo': create it with `supervisor profile create typo`\n"},
		"no such gateway on stop": {0, []string{"-p", "typo", "gateway", "stop"}, 1,
			"no such gateway 'typo': create it with `supervisor profile create typo`"},
		"invalid name": {0, []string{"-p", "Typo", "gateway", "status"}, 1, `invalid profile name: "Typo"`},
		"s6 not running": {0, []string{"-p", "coder", "gateway", "start"}, 1,
			"s6 is not running on " + e.scandir},
		"s6 not running, unprivileged": {10000, []string{"-p", "coder", "gateway", "start"}, 1,
			"s6 is not running on " + e.scandir},
		"permission denied creating a profile": {10000, []string{"profile", "create", "other"}, 1,
			"permission denied on " + filepath.Join(e.home, "profiles")},
		"profile exists": {0, []string{"profile", "create", "coder"}, 1, "profile exists"},
		"bad output":     {0, []string{"gateway", "status", "--output", "yaml"}, 2, `invalid argument "yaml" for "-o, --output" flag: want table or json`},
	} {
		t.Run(name, func(t *testing.T) {
			e.t = t
			if name == "permission denied creating a profile" {
				require.NoError(t, os.MkdirAll(filepath.Join(e.home, "profiles"), 0o755))
				require.NoError(t, os.Chown(filepath.Join(e.home, "profiles"), 0, 0))
			}
			if strings.HasPrefix(name, "s6 not running") {
				require.NoError(t, os.MkdirAll(e.scandir, 0o755))
			}
			r := e.cli(tc.uid, tc.args...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.NotContains(t, r.stderr, "goroutine")
		})
	}

	t.Run("permission denied publishing a slot", func(t *testing.T) {
		e.t = t
		s6test.Start(t, e.scandir)
		outside := filepath.Join(e.home, "profiles", "late")
		require.NoError(t, os.MkdirAll(outside, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(outside, "profile.toml"), nil, 0o644))
		require.NoError(t, os.Chown(outside, 10000, 10000))
		r := e.cli(10000, "-p", "late", "gateway", "start")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "permission denied on "+e.scandir)
		assert.Contains(t, r.stderr, "no registrar runs")
		assert.Contains(t, r.stderr, "run `supervisor -p late gateway start` as root, or set registrar = true")
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	})
}

func TestBootCommand(t *testing.T) {
	e := newEnv(t)
	p := e.paths("default")
	require.NoError(t, os.WriteFile(p.State, []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
	require.NoError(t, os.WriteFile(p.Pid, []byte("1\n"), 0o644))
	e.ok(0, "profile", "create", "coder")
	require.NoError(t, os.WriteFile(e.paths("coder").State, []byte(`{"gateway_state":"stopped","desired_state":"stopped"}`), 0o644))

	r := e.ok(0, "boot", "--dry-run")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	require.Len(t, lines, 2, r.stdout)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ profile=default prior_state=running action=started prior_exit=unknown policy=\S+@\S+ reason="desired running"$`, lines[0])
	assert.Regexp(t, `^\S+ profile=coder prior_state=stopped action=registered prior_exit=unknown policy=\S+ reason="desired stopped"$`, lines[1])
	assert.NoDirExists(t, e.scandir)
	assert.FileExists(t, p.Pid)
	assert.Equal(t, 2, strings.Count(r.stderr, "boot: profile "))

	r = e.ok(0, "boot")
	assert.Empty(t, r.stdout)
	log, err := os.ReadFile(profile.BootLog(e.home))
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(log), "\n"))
	assert.NoFileExists(t, p.Pid)
	assert.NoFileExists(t, filepath.Join(e.scandir, "gateway-default", "down"))
	assert.FileExists(t, filepath.Join(e.scandir, "gateway-coder", "down"))
	run, err := os.ReadFile(filepath.Join(e.scandir, "gateway-coder", "run"))
	require.NoError(t, err)
	assert.Contains(t, string(run), binary+" --config "+e.config+" --home "+e.home)
	assert.Contains(t, string(run), "s6-applyuidgid -u 10000 -g 10000 -G 10000 ", "root's boot drops to the gateway user's ids, resolved when rendered")
}

func TestInit(t *testing.T) {
	t.Parallel() // its own volume, scan directory and s6-svscan
	e := newEnv(t)
	e.ok(0, "profile", "create", "coder")
	// A gateway that ignores SIGTERM: s6's timeout-kill (stop_grace + 5s) bounds it.
	cmd := exec.Command(binary, "--config", e.config, "init")
	var out s6test.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	slot := filepath.Join(e.scandir, "gateway-coder")
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(slot, "supervise", "status"))
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "init never brought s6 up:\n%s", out.String())
	tmp := filepath.Join(slot, ".run.tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("#!/bin/sh\ntrap '' TERM\necho >&3\nwhile :; do sleep 0.2; done\n"), 0o755))
	require.NoError(t, os.Rename(tmp, filepath.Join(slot, "run")))
	e.ok(0, "-p", "coder", "gateway", "start")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-done:
		require.NoError(t, waitErr, out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("init did not exit after SIGTERM:\n%s", out.String())
	}
	_, err := os.Stat(filepath.Join(slot, "supervise", "status"))
	require.NoError(t, err)
	ok := exec.Command("s6-svok", slot).Run()
	assert.Error(t, ok, "s6-supervise still runs on %s", slot)
}

// One broken profile (here: runtime files the booting user may not remove)
// is logged and skipped; the others still boot.
func TestBootSkipsABrokenProfile(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.MkdirAll(e.scandir, 0o755))
	require.NoError(t, os.Chown(e.scandir, 10000, 10000))
	e.ok(0, "profile", "create", "good")
	e.ok(0, "profile", "create", "locked")
	locked := e.paths("locked")
	require.NoError(t, os.Chown(locked.Dir, 0, 0))
	require.NoError(t, os.WriteFile(locked.Pid, []byte("1\n"), 0o644))
	require.NoError(t, os.WriteFile(locked.State, []byte(`{"gateway_state":"running"}`), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(e.home, "logs"), 0o755))
	require.NoError(t, os.Chown(filepath.Join(e.home, "logs"), 10000, 10000))

	r := e.cli(10000, "boot")
	require.Equal(t, 0, r.code, r.stderr)
	log, err := os.ReadFile(profile.BootLog(e.home))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	require.Len(t, lines, 3, string(log))
	assert.Contains(t, lines[0], " profile=default prior_state=none action=registered ")
	assert.Contains(t, lines[1], " profile=good prior_state=none action=registered ")
	assert.Contains(t, lines[2], " profile=locked prior_state=none action=skipped prior_exit=unknown policy=none reason=") // upstream's None for an unreadable file
	assert.Contains(t, lines[2], locked.Pid)
	assert.Contains(t, r.stderr, "boot: warning: profile locked: ")
	assert.DirExists(t, filepath.Join(e.scandir, "gateway-good"))
	assert.NoDirExists(t, filepath.Join(e.scandir, "gateway-locked"))
}

// Boot run again under a live s6 starts a registered slot whose intent is
// now running.
func TestBootAgainUnderLiveS6(t *testing.T) {
	e := newEnv(t)
	s6test.Start(t, e.scandir)
	e.ok(0, "boot")
	st := e.status(0, "default")
	require.NotNil(t, st.S6, st.S6Error)
	assert.False(t, st.S6.Up)
	require.NoError(t, os.WriteFile(e.paths("default").State, []byte(`{"gateway_state":"stopped","desired_state":"running"}`), 0o644))
	e.ok(0, "boot")
	require.Eventually(t, func() bool {
		st := e.status(0, "default")
		return st.S6 != nil && st.S6.Up
	}, 10*time.Second, 20*time.Millisecond)
	e.ok(0, "gateway", "stop")
}

// The unprivileged operator with the registrar: the scan directory stays
// root's, and profile create, gateway start/stop and profile delete work as
// the gateway user because the registrar (root) publishes and removes slots.
func TestUnprivilegedOperatorWithRegistrar(t *testing.T) {
	e := newEnv(t)
	e.ok(0, "boot")
	s6test.Start(t, e.scandir)
	reg := filepath.Join(e.scandir, "hermes-registrar")
	require.FileExists(t, filepath.Join(reg, "run"))
	// s6.Tools.Wait first waits for s6-svscan to start the slot's
	// supervisor (its status file); s6-svwait alone fails at once before.
	require.NoError(t, (&s6.Tools{}).Wait(context.Background(), reg, 'U', 20*time.Second), "the registrar never came up and ready")
	fi, err := os.Stat(e.scandir)
	require.NoError(t, err)
	require.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid, "the scan directory stays root's")
	require.Zero(t, fi.Mode().Perm()&0o022, "the scan directory is writable by root only")

	r := e.ok(10000, "profile", "create", "coder")
	assert.Contains(t, r.stderr, "registered its slot with s6 (down)")
	assert.FileExists(t, filepath.Join(e.scandir, "gateway-coder", "down"))
	assert.Equal(t, uint32(0), owner(t, filepath.Join(e.scandir, "gateway-coder", "run")), "the slot is root's")
	e.lifecycle(10000, "coder")

	e.ok(10000, "profile", "delete", "coder")
	assert.NoDirExists(t, e.paths("coder").Dir)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(e.scandir, "gateway-coder"))
		return errors.Is(err, os.ErrNotExist)
	}, 20*time.Second, 20*time.Millisecond, "the registrar never removed the slot of the deleted profile")
}

// Without a registrar, the unprivileged operator is told what to do.
func TestUnprivilegedOperatorWithoutRegistrar(t *testing.T) {
	e := newEnv(t)
	conf, err := os.ReadFile(e.config)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.config, append([]byte("registrar = false\n"), conf...), 0o644))
	e.ok(0, "boot")
	assert.NoDirExists(t, filepath.Join(e.scandir, "hermes-registrar"))
	s6test.Start(t, e.scandir)

	r := e.ok(10000, "profile", "create", "coder")
	assert.Contains(t, r.stderr, "no registrar runs (hermes-registrar is absent or down): run `supervisor -p coder gateway start` as root")
	r = e.cli(10000, "-p", "coder", "gateway", "start")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no registrar runs")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	e.ok(0, "-p", "coder", "gateway", "start")
	e.ok(10000, "-p", "coder", "gateway", "stop")
}

func owner(t *testing.T, p string) uint32 {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Uid
}
