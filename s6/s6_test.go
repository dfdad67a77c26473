package s6_test

import (
	"context"
	"fmt"
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
)

const wait = 10 * time.Second

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// sh returns a run vector for a shell snippet.
func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func publishAndScan(t *testing.T, tools *s6.Tools, scan string, slot s6.Slot) string {
	t.Helper()
	require.NoError(t, tools.Publish(scan, slot))
	require.NoError(t, tools.Rescan(ctx(t), scan, false))
	return filepath.Join(scan, slot.Name)
}

// status polls until cond holds for the slot's status.
func status(t *testing.T, tools *s6.Tools, dir string, cond func(s6.Status) bool) s6.Status {
	t.Helper()
	var st s6.Status
	var err error
	for i := 0; i < 1000; i++ {
		st, err = tools.Status(ctx(t), dir)
		require.NoError(t, err)
		if cond(st) {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("status of %s never reached the expected state; last %+v", dir, st)
	return st
}

func TestPublishRescanAndStates(t *testing.T) {
	scan := t.TempDir()
	s6test.Start(t, scan)
	tools := &s6.Tools{}

	// Published down: registered, not started.
	dir := publishAndScan(t, tools, scan, s6.Slot{Name: "svc", Run: sh("exec sleep 1000"), Down: true, TimeoutKill: time.Second})
	st := status(t, tools, dir, func(s6.Status) bool { return true })
	assert.False(t, st.Up)
	assert.False(t, st.WantedUp)
	assert.False(t, st.NormallyUp)
	assert.Equal(t, "down", st.State())
	entries, err := os.ReadDir(scan)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".svc"), "temporary sibling %s left behind", e.Name())
	}

	// Up, without readiness notification.
	require.NoError(t, tools.Control(ctx(t), dir, s6.Up, wait))
	st = status(t, tools, dir, func(s s6.Status) bool { return s.Up })
	assert.True(t, st.WantedUp)
	assert.Positive(t, st.Pid)

	// Down by SIGTERM.
	require.NoError(t, tools.Control(ctx(t), dir, s6.Down, wait))
	st = status(t, tools, dir, func(s s6.Status) bool { return !s.Up })
	assert.False(t, st.WantedUp)
	assert.Equal(t, int(syscall.SIGTERM), st.Signal)
	assert.Zero(t, st.Pid)

	// Replacing a supervised slot keeps s6-supervise and its status.
	require.NoError(t, tools.Publish(scan, s6.Slot{Name: "svc", Run: sh("exec sleep 2000")}))
	run, err := os.ReadFile(filepath.Join(dir, "run"))
	require.NoError(t, err)
	assert.Contains(t, string(run), "sleep 2000")
	assert.NoFileExists(t, filepath.Join(dir, "down"))
	require.NoError(t, tools.Control(ctx(t), dir, s6.Up, wait))
	status(t, tools, dir, func(s s6.Status) bool { return s.Up && s.NormallyUp })
	require.NoError(t, tools.Control(ctx(t), dir, s6.Restart, wait))
	status(t, tools, dir, func(s s6.Status) bool { return s.Up })
}

func TestStatusReadyWantedUpAndFinished(t *testing.T) {
	scan := t.TempDir()
	s6test.Start(t, scan)
	tools := &s6.Tools{}

	t.Run("ready", func(t *testing.T) {
		dir := publishAndScan(t, tools, scan, s6.Slot{Name: "ready", NotificationFD: 3,
			Run: sh("echo >&3; exec 3>&-; exec sleep 1000"), Down: true})
		require.NoError(t, tools.Control(ctx(t), dir, s6.Up, wait))
		st := status(t, tools, dir, func(s s6.Status) bool { return s.Ready })
		assert.True(t, st.Up)
		require.NoError(t, tools.Control(ctx(t), dir, s6.Down, wait))
	})
	t.Run("up not ready", func(t *testing.T) {
		dir := publishAndScan(t, tools, scan, s6.Slot{Name: "unready", NotificationFD: 3,
			Run: sh("exec sleep 1000"), Down: true})
		require.NoError(t, tools.Control(ctx(t), dir, s6.Up, 0))
		require.NoError(t, tools.Wait(ctx(t), dir, 'u', wait))
		st := status(t, tools, dir, func(s s6.Status) bool { return s.Up })
		assert.False(t, st.Ready)
		// Waiting for readiness that never comes times out.
		err := tools.Wait(ctx(t), dir, 'U', 200*time.Millisecond)
		require.ErrorIs(t, err, s6.ErrTimeout)
		assert.Equal(t, "s6: "+dir+" is not up and ready after 200ms (s6-svwait -U): timed out", err.Error())
		// So does a start that waits for it.
		require.NoError(t, tools.Control(ctx(t), dir, s6.Down, wait))
		err = tools.Control(ctx(t), dir, s6.Up, 200*time.Millisecond)
		require.ErrorIs(t, err, s6.ErrTimeout)
		assert.Equal(t, "s6: "+dir+" is not up and ready after 200ms (s6-svc -wU -u; s6 keeps working on it): timed out", err.Error())
		require.NoError(t, tools.Control(ctx(t), dir, s6.Down, wait))
	})
	t.Run("wanted up but down", func(t *testing.T) {
		dir := publishAndScan(t, tools, scan, s6.Slot{Name: "crashy", Run: sh("exit 3"),
			Finish: []string{"/bin/sh", "-c", "exec sleep 1"}, Down: true})
		require.NoError(t, tools.Control(ctx(t), dir, s6.Up, 0))
		st := status(t, tools, dir, func(s s6.Status) bool { return !s.Up && s.ExitCode == 3 })
		assert.True(t, st.WantedUp)
		require.NoError(t, tools.Control(ctx(t), dir, s6.Down, wait))
	})
	t.Run("finished with 125", func(t *testing.T) {
		dir := publishAndScan(t, tools, scan, s6.Slot{Name: "done", Run: sh("exit 0"),
			Finish: []string{"/bin/sh", "-c", "exit 125"}, Down: true})
		require.NoError(t, tools.Control(ctx(t), dir, s6.Up, 0))
		st := status(t, tools, dir, func(s s6.Status) bool { return !s.Up && !s.WantedUp && s.ExitCode == 0 })
		assert.Zero(t, st.Pid)
	})
}

func TestUnprivilegedOperator(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test gives files to uid 10000: run it as root")
	}
	scan := t.TempDir()
	s6test.OpenUp(t, scan)
	s6test.Start(t, scan)
	tools := &s6.Tools{}
	owned := publishAndScan(t, tools, scan, s6.Slot{Name: "owned", Run: sh("exec sleep 1000"), Down: true,
		NotificationFD: 3, Owner: &s6.Owner{UID: 10000, GID: 10000}})
	notOwned := publishAndScan(t, tools, scan, s6.Slot{Name: "rootonly", Run: sh("exec sleep 1000"), Down: true})
	status(t, tools, owned, func(s6.Status) bool { return true })
	status(t, tools, notOwned, func(s6.Status) bool { return true })

	asHermes := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 10000, Gid: 10000}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := asHermes("s6-svc", "-wu", "-T", "10000", "-u", owned)
	require.NoError(t, err, out)
	out, err = asHermes("s6-svstat", "-o", "up", owned)
	require.NoError(t, err, out)
	assert.Equal(t, "true\n", out)
	out, err = asHermes("s6-svc", "-wD", "-T", "10000", "-d", owned)
	require.NoError(t, err, out)
	out, err = asHermes("s6-svwait", "-d", "-t", "5000", owned)
	require.NoError(t, err, out)

	out, err = asHermes("s6-svc", "-u", notOwned)
	require.Error(t, err)
	assert.Contains(t, out, "Permission denied")

	// supervise/ stays root's: s6-supervise (root) rewrites status through
	// status.new there, and a symlink planted in its place would make it
	// overwrite any file.
	fi, err := os.Lstat(filepath.Join(owned, "supervise"))
	require.NoError(t, err)
	assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid, "supervise/ is root's")
	out, err = asHermes("ln", "-s", "/etc/passwd", filepath.Join(owned, "supervise", "status.new"))
	require.Error(t, err, "the gateway user plants nothing in supervise/: %s", out)
	assert.Contains(t, out, "Permission denied")
	out, err = asHermes("s6-svc", "-wu", "-T", "10000", "-u", owned)
	require.NoError(t, err, "still operable after the attempt: %s", out)
}

func TestErrors(t *testing.T) {
	tools := &s6.Tools{}
	scan := t.TempDir()
	// A slot nobody supervises.
	require.NoError(t, tools.Publish(scan, s6.Slot{Name: "lonely", Run: sh("exec sleep 1")}))
	err := tools.Control(ctx(t), filepath.Join(scan, "lonely"), s6.Up, 0)
	require.ErrorIs(t, err, s6.ErrNotRunning)
	assert.Contains(t, err.Error(), "s6 is not running on "+scan+": ")

	err = tools.Rescan(ctx(t), scan, false)
	require.ErrorIs(t, err, s6.ErrNotRunning)
	assert.Contains(t, err.Error(), "s6 is not running on "+scan)
	ok, err := s6.Scanning(scan)
	require.NoError(t, err)
	assert.False(t, ok)

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = tools.Status(short, filepath.Join(scan, "lonely"))
	require.ErrorIs(t, err, s6.ErrNotRunning)

	_, err = tools.Status(ctx(t), filepath.Join(scan, "missing"))
	require.ErrorIs(t, err, s6.ErrNoSlot)

	// Publishing where the caller may not write.
	ro := filepath.Join(t.TempDir(), "ro")
	require.NoError(t, os.Mkdir(ro, 0o755))
	s6test.OpenUp(t, ro)
	cmdErr := runAsHermesPublish(t, ro)
	assert.Contains(t, cmdErr, "permission denied on "+ro)
}

// runAsHermesPublish publishes into dir as uid 10000 by re-running this
// test binary in the publishing role (see TestMain) and returns its output.
func runAsHermesPublish(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	s6test.OpenUp(t, filepath.Dir(self))
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), publishRole+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 10000, Gid: 10000}}
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// publishRole names the directory the test binary, started in that role,
// publishes a slot into; it prints the error and exits.
const publishRole = "S6_TEST_PUBLISH_INTO"

func TestMain(m *testing.M) {
	if dir := os.Getenv(publishRole); dir != "" {
		err := (&s6.Tools{}).Publish(dir, s6.Slot{Name: "x", Run: sh("exit 0")})
		fmt.Println(err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
