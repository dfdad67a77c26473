package hermes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// StartDeadline bounds how long a real gateway may take to come up and
// write gateway_state=running itself (Python imports, on a loaded machine).
const StartDeadline = 90 * time.Second

// NeedVenv finds hermes-agent runnable by the gateway user; without it the
// test fails saying how to install it (never a skip: tests/run.sh, and so
// CI, installs it).
func NeedVenv(t testing.TB) Venv {
	t.Helper()
	v, err := FindVenv()
	if err == nil {
		err = v.RunnableByOthers()
	}
	if err != nil {
		t.Fatalf("%v; tests/run.sh does this (HERMES_AGENT_VENV names another venv)", err)
	}
	return v
}

// Life is one gateway life as hermes records it: its pid (in the
// gateway's PID namespace) and its start time (field 22 of /proc/PID/stat).
// A fresh container may give the next gateway the same pid.
type Life struct{ Pid, Start int }

// RunningLife is the life hermes' own view shows running: gateway_state
// running, a runtime status naming a pid and a start time, that pid live
// and holding gateway.lock, and desired_state running (the supervisor
// records it when the gateway is ready). ok is false otherwise, and when
// the life is not (the previous one).
func (v View) RunningLife(not Life) (l Life, ok bool) {
	rt := v.Map("runtime_status")
	if v.String("gateway_state") != "running" || rt == nil {
		return Life{}, false
	}
	p, _ := rt["pid"].(float64)
	st, _ := rt["start_time"].(float64)
	l = Life{int(p), int(st)}
	return l, l.Pid > 0 && l != not && v.Int("running_pid") == l.Pid && v["lock_active"] == true && rt["desired_state"] == "running"
}

// GatewayLogs are a gateway's log files: every file of its s6-log
// directory (archives too: a logger killed mid-line leaves its current
// file to be archived) and its own logs in its profile directory.
func GatewayLogs(logDir, profileDir string) []string {
	files, _ := filepath.Glob(filepath.Join(logDir, "*"))
	for _, f := range []string{"gateway.log", "errors.log", "gateway-exit-diag.log"} {
		files = append(files, filepath.Join(profileDir, "logs", f))
	}
	return files
}

// Fought lists, as "file: fight", every line of Fights the readable files
// hold, and counts the files read.
func Fought(files []string) (found []string, read int) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		read++
		for _, bad := range Fights {
			if strings.Contains(string(b), bad) {
				found = append(found, f+": "+bad)
			}
		}
	}
	return found, read
}

// WaitRunning waits up to StartDeadline until hermes itself sees profile's
// gateway running (RunningLife, a life other than not), reading its view with inspect, run
// where the gateway's pids mean something; then gateway.pid must be
// hermes' JSON record of that life, and `hermes gateway status` must say
// it runs. It returns the life.
func WaitRunning(t testing.TB, inspect func(statusCLI bool) View, profile string, not Life) Life {
	t.Helper()
	var view View
	var cur Life
	ok := container.Poll(StartDeadline, func() bool {
		var up bool
		view = inspect(false)
		cur, up = view.RunningLife(not)
		return up
	})
	require.True(t, ok, "%s: hermes never saw its gateway running: %v", profile, view)
	view = inspect(true)
	rec := view.Map("pid_record")
	require.NotNil(t, rec, "%s: gateway.pid is hermes' JSON record: %v", profile, view["pid_record"])
	assert.Equal(t, float64(cur.Pid), rec["pid"], "%s: gateway.pid names the gateway (the supervisor never writes it)", profile)
	st := view.Map("status_cli")
	require.NotNil(t, st)
	assert.Equal(t, true, st["running"], "%s: hermes gateway status: %v", profile, st["output"])
	assert.Contains(t, st["pids"], float64(cur.Pid), "%s: hermes gateway status names the gateway", profile)
	return cur
}

// RequireStopped asserts that hermes' view of profile (read with its
// status command) shows the gateway stopped: gateway_state stopped, which
// upstream's reconciler would leave down, no live gateway, no lock held,
// and `hermes gateway status` agreeing.
func RequireStopped(t testing.TB, view View, profile string) {
	t.Helper()
	assert.Equal(t, "stopped", view.String("gateway_state"), "%s: hermes' reader: %v", profile, view["runtime_status"])
	assert.Equal(t, "stopped", view.String("boot_prior_state"), "%s: upstream's reconciler would leave it down", profile)
	assert.Nil(t, view["running_pid"], "%s: no live gateway", profile)
	assert.Equal(t, false, view["lock_active"], "%s", profile)
	st := view.Map("status_cli")
	require.NotNil(t, st)
	assert.Equal(t, false, st["running"], "%s: hermes gateway status: %v", profile, st["output"])
}
