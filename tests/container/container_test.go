package container_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

func TestMain(m *testing.M) {
	code := m.Run()
	container.Cleanup()
	os.Exit(code)
}

// rawS6 boots a bare s6-svscan as PID 1: the harness proven without the
// supervisor.
func rawS6(t *testing.T, grace time.Duration) *container.Container {
	c := container.New(t, container.Options{
		Init:      func(c *container.Container) []string { return []string{"s6-svscan", c.Scandir} },
		KillGrace: grace,
	})
	c.Start()
	c.WaitScanner(10 * time.Second)
	return c
}

// handSlot publishes a hand-written slot the way s6 wants it: built in a
// dot-prefixed sibling, renamed into place, then a rescan.
func handSlot(t *testing.T, c *container.Container, name, run string) {
	t.Helper()
	tmp := c.Path(filepath.Join(c.Scandir, ".gateway-"+name))
	require.NoError(t, os.MkdirAll(tmp, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "type"), []byte("longrun\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "run"), []byte("#!/bin/sh\n"+run+"\n"), 0o755))
	require.NoError(t, os.Rename(tmp, c.Slot(name)))
	r := c.Exec("s6-svscanctl", "-a", c.Scandir)
	require.True(t, r.OK(), r.String())
}

func markerProcesses(t *testing.T, c *container.Container) []int {
	mark := []byte("HERMES_E2E_CONTAINER=")
	var pids []int
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, mark) && c.Env()[4] == string(kv) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// The meter counts the CPU of a child it did not start itself in any
// special way: at least what the kernel charged the child.
func TestCPUMeter(t *testing.T) {
	m, err := container.MeterCPU()
	require.NoError(t, err)
	defer m.Close()
	u0, err := m.Used()
	require.NoError(t, err)
	child := exec.Command("sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done")
	require.NoError(t, child.Run())
	u1, err := m.Used()
	require.NoError(t, err)
	charged := child.ProcessState.UserTime() + child.ProcessState.SystemTime()
	require.Greater(t, charged, time.Duration(0))
	assert.GreaterOrEqual(t, u1-u0, charged-time.Millisecond, "the group's CPU includes the child's")
}

func TestRawS6Restart(t *testing.T) {
	c := rawS6(t, 0)
	if c.Mode() == container.Namespaced {
		assert.True(t, c.ScandirIsTmpfs(), "the scandir must be a tmpfs of the container's own")
		_, err := os.Stat(filepath.Join(c.Scandir, "x"))
		assert.True(t, os.IsNotExist(err))
	}
	handSlot(t, c, "raw", "exec sleep 1000")
	st := c.WaitUp("raw", 10*time.Second)
	assert.Greater(t, st.Pid, 0)
	if c.Mode() == container.Namespaced {
		// inside the namespace: s6-svscan is PID 1, the service a child of its supervise
		r := c.Exec("cat", "/proc/1/comm")
		assert.Equal(t, "s6-svscan", strings.TrimSpace(r.Stdout), r.String())
	}
	before := markerProcesses(t, c)
	assert.GreaterOrEqual(t, len(before), 3, "svscan, supervise and sleep carry the marker: %v", before)

	stopped := c.Restart()
	assert.False(t, stopped.Killed, "s6-svscan exits on SIGTERM by itself")
	assert.NoDirExists(t, c.Slot("raw"), "the scandir is fresh on every boot")
	for _, pid := range before {
		assert.NoError(t, assertGone(pid), "process %d of the first boot", pid)
	}
	assert.Equal(t, 2, c.Boots())
}

func assertGone(pid int) error {
	if err := syscall.Kill(pid, 0); err == nil {
		// a zombie is gone for our purpose; a live process is not
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if f := strings.Fields(string(data)); len(f) > 2 && f[2] != "Z" {
			return fmt.Errorf("still running: %s", data)
		}
	}
	return nil
}

func TestRawS6KilledAfterGrace(t *testing.T) {
	c := rawS6(t, time.Second)
	// A service that ignores SIGTERM holds s6 up: the container is SIGKILLed.
	handSlot(t, c, "deaf", `trap "" TERM; exec sleep 1000`)
	c.WaitUp("deaf", 10*time.Second)
	before := markerProcesses(t, c)
	st := c.Stop()
	assert.True(t, st.Killed, "a service ignoring SIGTERM keeps s6 from exiting; the harness SIGKILLs")
	for _, pid := range before {
		assert.NoError(t, assertGone(pid), "process %d", pid)
	}
}

func TestExecAsHermes(t *testing.T) {
	require.NoError(t, container.HermesUser())
	c := rawS6(t, 0)
	r := c.ExecAs(container.HermesUID, "id", "-u")
	require.True(t, r.OK(), r.String())
	assert.Equal(t, "10000", strings.TrimSpace(r.Stdout))
	r = c.Exec("id", "-u")
	assert.Equal(t, "0", strings.TrimSpace(r.Stdout))
	// the volume is the hermes user's
	r = c.ExecAs(container.HermesUID, "touch", filepath.Join(c.Home, "probe"))
	assert.True(t, r.OK(), r.String())
	if c.Mode() == container.Namespaced {
		r = c.Exec("sh", "-c", "echo $$")
		assert.NotEqual(t, strconv.Itoa(os.Getpid()), strings.TrimSpace(r.Stdout))
		r = c.Exec("cat", "/proc/1/comm")
		assert.Equal(t, "s6-svscan", strings.TrimSpace(r.Stdout), "exec sees the container's PID namespace")
	}
}

func TestParseBootLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want map[string]string
	}{
		{"design example", `2026-11-25T21:00:00Z profile=coder prior_state=running action=started prior_exit=unclean policy=default@3f2a9c1b reason="desired running"`,
			map[string]string{"time": "2026-11-25T21:00:00Z", "profile": "coder", "prior_state": "running", "action": "started",
				"prior_exit": "unclean", "policy": "default@3f2a9c1b", "reason": "desired running"}},
		{"escaped quote", `t profile=a action=registered reason="say \"hi\"" x=1`,
			map[string]string{"time": "t", "profile": "a", "action": "registered", "reason": `say "hi"`, "x": "1"}},
		{"empty", "", nil},
		{"no profile", "t action=started", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, container.ParseBootLine(tc.line))
		})
	}
}

func TestBootLineTakesTheLast(t *testing.T) {
	log := "t1 profile=a action=registered\nt2 profile=b action=started\nt3 profile=a action=started\n"
	assert.Equal(t, "started", container.BootLine(log, "a")["action"])
	assert.Equal(t, "t2", container.BootLine(log, "b")["time"])
	assert.Nil(t, container.BootLine(log, "c"))
}
