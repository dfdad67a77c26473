package e2e

// The real hermes gateway (hermes-agent, the version tests/hermes pins)
// under `supervisor run`, in the simulated container, with no messaging
// platform configured (it then runs for its cron jobs): the upstream
// restart suite's scenarios (tests/docker/test_container_restart.py), an
// operator stop, an operator restart and a crash (kill -9 of the gateway).
// After each, hermes' own view of the profile (its readers, run by
// tests/hermes/inspect_profile.py inside the container, and `hermes gateway
// status`) must agree with the supervisor's, and the gateway's logs must
// show no fight over its identity files and no unclean-exit diagnostic.
//
// It runs with HERMES_TEST_LONG=1 (tests/run.sh, and so CI, sets it), and
// needs hermes-agent in a virtual environment: tests/run.sh installs it
// (tests/hermes/install.sh); a missing one fails with the command to run.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	agent "github.com/hermes-supervisor/hermes-supervisor/tests/hermes"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// hermesConfig runs the real gateway as the hermes user. The respawn-storm
// breaker of hermes (a 6th start within 120 s sleeps first) is off: the
// policy owns restarts, and the tests start gateways often.
func hermesConfig(v agent.Venv) string {
	return fmt.Sprintf(`home = "{home}"
scandir = "{scandir}"

[gateway]
command = ["env", "HERMES_GATEWAY_MAX_STARTS=0", %q, "gateway", "run", "--replace"]
user = "hermes"
stop_grace = "20s"
ready_after = "2s"

[policy]
module = ""
`, v.Hermes())
}

// hermesBoot boots a container whose gateways are the real hermes gateway.
func hermesBoot(t *testing.T, v agent.Venv) *container.Container {
	t.Helper()
	require.NoError(t, container.HermesUser())
	c := container.New(t, container.Options{Config: hermesConfig(v), KillGrace: 40 * time.Second})
	c.Start()
	c.WaitBoot(bootDeadline, "default")
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range []string{"default", "coder", "live", "writer", "ghost"} {
				for _, f := range []string{"logs/gateway.log", "logs/errors.log"} {
					if b, err := os.ReadFile(filepath.Join(c.ProfileDir(p), f)); err == nil {
						t.Logf("-- %s/%s (tail):\n%s", p, f, tailOf(string(b), 30))
					}
				}
			}
		}
	})
	return c
}

// inspect is hermes' own view of profile, read inside the container (its
// pids are the container's), as the unprivileged user.
func inspect(t *testing.T, c *container.Container, v agent.Venv, profile string, statusCLI bool) agent.View {
	t.Helper()
	r := c.ExecAs(hermes, v.InspectArgs(c.ProfileDir(profile), 0, statusCLI)...)
	require.True(t, r.OK(), "%s", r)
	view, err := agent.ParseView([]byte(r.Stdout))
	require.NoError(t, err)
	return view
}

// inspectStopped is hermes' view of profile while the container is down
// (no process left whose pid could mean anything).
func inspectStopped(t *testing.T, c *container.Container, v agent.Venv, profile string) agent.View {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	view, err := v.Inspect(ctx, c.ProfileDir(profile), 0, false)
	require.NoError(t, err)
	return view
}

// waitHermesRunning waits until hermes itself sees profile's gateway
// running: it wrote gateway_state=running naming itself, holds
// gateway.lock, and `hermes gateway status` agrees. It returns the
// gateway's life; not is a life it must not be (the previous one).
func waitHermesRunning(t *testing.T, c *container.Container, v agent.Venv, profile string, not agent.Life) agent.Life {
	t.Helper()
	cur := agent.WaitRunning(t, func(statusCLI bool) agent.View { return inspect(t, c, v, profile, statusCLI) }, profile, not)
	assert.FileExists(t, filepath.Join(c.ProfileDir(profile), "gateway.pid"), "the gateway's own pid file")
	return cur
}

// requireHermesStopped asserts hermes sees profile's gateway stopped, as the
// supervisor decided: gateway_state stopped (what its upstream reconciler
// decides from too), no live gateway, `hermes gateway status` says so.
func requireHermesStopped(t *testing.T, c *container.Container, v agent.Venv, profile string) {
	t.Helper()
	agent.RequireStopped(t, inspect(t, c, v, profile, true), profile)
	m, err := c.State(profile)
	require.NoError(t, err)
	assert.Equal(t, "stopped", m["gateway_state"], "%s: ours", profile)
	assert.Equal(t, "stopped", m["desired_state"], "%s: ours", profile)
}

// noFights asserts the gateway's logs (its console through s6-log, its own
// logs) hold none of agent.Fights.
func noFights(t *testing.T, c *container.Container, profile string) {
	t.Helper()
	found, read := agent.Fought(agent.GatewayLogs(filepath.Join(c.Home, "logs", "gateways", profile), c.ProfileDir(profile)))
	assert.NotZero(t, read, "%s: no gateway log found", profile)
	assert.Empty(t, found, "%s: the logs say two gateways fought, or a life ended uncleanly", profile)
}

func gatewayStart(t *testing.T, c *container.Container, profile string) {
	t.Helper()
	if profile != "default" {
		createProfile(t, c, hermes, profile)
	}
	run(t, c, hermes, "-p", profile, "gateway", "start")
	c.WaitUp(profile, upDeadline)
}

func TestHermesGateway(t *testing.T) {
	if !testenv.Long() {
		t.Skip("the real hermes gateway (about 40 s of Python start-ups): HERMES_TEST_LONG=1 runs it, as tests/run.sh and so CI do")
	}
	v := agent.NeedVenv(t)

	// test_container_restart.py::test_live_gateway_autostarts_after_real_restart_without_manual_state_stamp,
	// with the root profile beside it.
	t.Run("live gateway autostarts after a real restart", func(t *testing.T) {
		c := hermesBoot(t, v)
		gatewayStart(t, c, "live")
		gatewayStart(t, c, "default")
		live := waitHermesRunning(t, c, v, "live", agent.Life{})
		root := waitHermesRunning(t, c, v, "default", agent.Life{})
		require.NoFileExists(t, filepath.Join(c.ProfileDir("live"), ".gateway-planned-stop.json"))

		st := c.Stop()
		require.False(t, st.Killed, "the container stop outlived its grace")
		for _, p := range []string{"live", "default"} {
			view := inspectStopped(t, c, v, p)
			assert.Equal(t, "running", view.String("gateway_state"), "%s: hermes' reader after the restart's SIGTERM", p)
			assert.Equal(t, "running", view.String("boot_prior_state"), "%s: upstream's reconciler would start it", p)
			assert.Equal(t, false, view["lock_active"], p)
			assert.Equal(t, true, view["clean_shutdown"], "%s: the gateway went through its own shutdown", p)
			m, err := c.State(p)
			require.NoError(t, err)
			assert.Equal(t, "signal", m["trigger"], p)
			assert.Equal(t, "running", m["desired_state"], p)
		}
		c.Start()
		lines := c.WaitBoot(bootDeadline, "default", "live")
		for _, p := range []string{"live", "default"} {
			assert.Equal(t, "started", lines[p]["action"], "%s: %v", p, lines[p])
			assert.Equal(t, "running", lines[p]["prior_state"], p)
			assert.Equal(t, "clean", lines[p]["prior_exit"], p)
			assert.False(t, c.SlotHas(p, "down"), p)
		}
		waitHermesRunning(t, c, v, "live", live)
		waitHermesRunning(t, c, v, "default", root)
		noFights(t, c, "live")
		noFights(t, c, "default")
	})

	// test_container_restart.py::test_running_gateway_survives_container_restart
	t.Run("running gateway survives a restart (stamped)", func(t *testing.T) {
		c := hermesBoot(t, v)
		gatewayStart(t, c, "coder")
		pid := waitHermesRunning(t, c, v, "coder", agent.Life{})
		stampState(t, c, "coder", "running")
		lines := restart(t, c, "coder")
		assert.Equal(t, "started", lines["coder"]["action"])
		assert.False(t, c.SlotHas("coder", "down"))
		waitHermesRunning(t, c, v, "coder", pid)
		noFights(t, c, "coder")
	})

	// test_container_restart.py::test_stopped_gateway_stays_stopped_after_restart
	t.Run("stopped gateway stays stopped after a restart", func(t *testing.T) {
		c := hermesBoot(t, v)
		createProfile(t, c, hermes, "writer")
		stampState(t, c, "writer", "stopped")
		lines := restart(t, c, "writer")
		requireDown(t, c, lines["writer"], "writer")
		view := inspect(t, c, v, "writer", true)
		assert.Equal(t, "stopped", view.String("boot_prior_state"))
		assert.Equal(t, false, view.Map("status_cli")["running"])
	})

	// test_container_restart.py::test_stale_gateway_pid_cleaned_up_on_restart,
	// then the gateway started over what is left: no pid-file race.
	t.Run("stale gateway.pid cleaned up on restart", func(t *testing.T) {
		c := hermesBoot(t, v)
		createProfile(t, c, hermes, "ghost")
		stampState(t, c, "ghost", "stopped")
		writeAs(t, c, "ghost", "gateway.pid", `{"pid": 99999, "host": "old"}`)
		writeAs(t, c, "ghost", "processes.json", `[]`)
		restart(t, c, "ghost")
		assert.NoFileExists(t, filepath.Join(c.ProfileDir("ghost"), "gateway.pid"))
		assert.NoFileExists(t, filepath.Join(c.ProfileDir("ghost"), "processes.json"))
		run(t, c, hermes, "-p", "ghost", "gateway", "start")
		c.WaitUp("ghost", upDeadline)
		waitHermesRunning(t, c, v, "ghost", agent.Life{})
		noFights(t, c, "ghost")
	})

	t.Run("operator stop", func(t *testing.T) {
		c := hermesBoot(t, v)
		gatewayStart(t, c, "coder")
		waitHermesRunning(t, c, v, "coder", agent.Life{})
		run(t, c, hermes, "-p", "coder", "gateway", "stop")
		c.WaitDown("coder", upDeadline)
		// The gateway's own last write said running (it was not told the
		// SIGTERM was planned: the marker named its supervisor); the
		// supervisor wrote its decision again once the gateway was gone.
		requireHermesStopped(t, c, v, "coder")
		if b, err := os.ReadFile(filepath.Join(c.Home, "logs", "gateways", "coder", "current")); err == nil {
			t.Logf("the supervisor wrote its decision again after the gateway's own last write: %v",
				strings.Contains(string(b), "the gateway's last write undid the decision"))
		}
		lines := restart(t, c, "coder")
		requireDown(t, c, lines["coder"], "coder")
		assert.Equal(t, "stopped", lines["coder"]["prior_state"])
		requireHermesStopped(t, c, v, "coder")
		noFights(t, c, "coder")
	})

	t.Run("operator restart", func(t *testing.T) {
		c := hermesBoot(t, v)
		gatewayStart(t, c, "coder")
		pid := waitHermesRunning(t, c, v, "coder", agent.Life{})
		run(t, c, hermes, "-p", "coder", "gateway", "restart")
		c.WaitUp("coder", upDeadline)
		waitHermesRunning(t, c, v, "coder", pid)
		m, err := c.State("coder")
		require.NoError(t, err)
		assert.Equal(t, "running", m["desired_state"])
		noFights(t, c, "coder")
	})

	t.Run("crash: kill -9 of the gateway", func(t *testing.T) {
		c := hermesBoot(t, v)
		gatewayStart(t, c, "coder")
		first := waitHermesRunning(t, c, v, "coder", agent.Life{})
		r := c.ExecAs(hermes, "kill", "-9", strconv.Itoa(first.Pid))
		require.True(t, r.OK(), "%s", r)
		// The policy restarts a gateway killed by a signal; the new one finds
		// the dead one's gateway.pid and gateway.lock, and takes them over.
		next := waitHermesRunning(t, c, v, "coder", first)
		assert.NotEqual(t, first, next)
		lines := restart(t, c, "coder")
		assert.Equal(t, "started", lines["coder"]["action"])
		assert.Equal(t, "clean", lines["coder"]["prior_exit"], "the policy restarted the gateway: no give-up, and its supervisor ended cleanly")
		waitHermesRunning(t, c, v, "coder", next)
		noFights(t, c, "coder")
	})

	t.Run("repeated restarts with two gateways", func(t *testing.T) {
		c := hermesBoot(t, v)
		gatewayStart(t, c, "coder")
		gatewayStart(t, c, "writer")
		lives := map[string]agent.Life{"coder": waitHermesRunning(t, c, v, "coder", agent.Life{}), "writer": waitHermesRunning(t, c, v, "writer", agent.Life{})}
		for i := range 8 {
			lines := restart(t, c, "coder", "writer")
			for p := range lives {
				require.Equal(t, "started", lines[p]["action"], "restart %d: %s: %v", i, p, lines[p])
				require.Equal(t, "clean", lines[p]["prior_exit"], "restart %d: %s", i, p)
				lives[p] = waitHermesRunning(t, c, v, p, lives[p])
			}
		}
		noFights(t, c, "coder")
		noFights(t, c, "writer")
	})
}

func tailOf(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
