package overlay_test

// The real hermes gateway (hermes-agent, the version tests/hermes pins)
// under the real s6-overlay /init, with the shipped fragment, the shipped
// hermes.toml (only its gateway command replaced) and the shipped stop
// settings (stop_grace, the cont-finish.d step, the image's ENV): docker
// stop, restart, and an operator stop that must survive both. hermes' own
// view (its readers, run by tests/hermes/inspect_profile.py, and `hermes
// gateway status`) must agree with the supervisor's, and the gateway's logs
// must show no fight over its identity files and no unclean-exit
// diagnostic.
//
// The base rootfs has no Python. The venv tests/hermes/install.sh makes
// (its interpreter is the host's Debian python3.11) and the files of that
// interpreter the rootfs lacks are bind-mounted read-only into the
// container (overlay.HostPython): they stand in for an image's
// `apt-get install python3.11 && pip install hermes-agent==0.19.0` into
// the same venv path.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	agent "github.com/hermes-supervisor/hermes-supervisor/tests/hermes"
	"github.com/hermes-supervisor/hermes-supervisor/tests/overlay"
)

// shippedHermesConfig is the module's hermes.toml with only the gateway
// command replaced by the real gateway in v (hermes' respawn-storm breaker
// off: the policy decides restarts), and its stop_grace.
func shippedHermesConfig(t *testing.T, v agent.Venv) (string, time.Duration) {
	t.Helper()
	root, err := container.ModuleRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "hermes.toml"))
	require.NoError(t, err)
	conf := string(data)
	const shipped = `command = ["hermes", "gateway", "run", "--replace"]`
	require.Equal(t, 1, strings.Count(conf, shipped), "hermes.toml's gateway command is no longer %s", shipped)
	conf = strings.Replace(conf, shipped,
		fmt.Sprintf(`command = ["env", "HERMES_GATEWAY_MAX_STARTS=0", %q, "gateway", "run", "--replace"]`, v.Hermes()), 1)
	m := regexp.MustCompile(`(?m)^stop_grace = "([^"]+)"`).FindStringSubmatch(conf)
	require.NotNil(t, m, "hermes.toml sets no gateway.stop_grace")
	grace, err := time.ParseDuration(m[1])
	require.NoError(t, err)
	return conf, grace
}

// hermesView is hermes' own view of profile, read inside the container (its
// pids are the container's) as the gateway user, as an operator's
// `docker exec -u hermes` would.
func hermesView(t *testing.T, c *overlay.Container, v agent.Venv, profile string, statusCLI bool) agent.View {
	t.Helper()
	// InspectArgs wants no HERMES_HOME (the image's ENV sets one).
	r := c.ExecAs(overlay.HermesUID, append([]string{"env", "-u", "HERMES_HOME"},
		v.InspectArgs(c.ProfileDirInside(profile), 0, statusCLI)...)...)
	require.True(t, r.OK(), "%s", r)
	view, err := agent.ParseView([]byte(r.Stdout))
	require.NoError(t, err)
	return view
}

// waitHermesRunning waits until hermes itself sees profile's gateway
// running: it wrote gateway_state=running naming itself, holds
// gateway.lock, gateway.pid is its JSON record, and `hermes gateway
// status` agrees. not is a life it must not be (the previous one).
func waitHermesRunning(t *testing.T, c *overlay.Container, v agent.Venv, profile string, not agent.Life) agent.Life {
	t.Helper()
	return agent.WaitRunning(t, func(statusCLI bool) agent.View { return hermesView(t, c, v, profile, statusCLI) }, profile, not)
}

// requireHermesStopped: hermes sees profile's gateway stopped, inside the
// running container, as the operator's stop decided.
func requireHermesStopped(t *testing.T, c *overlay.Container, v agent.Venv, profile string) {
	t.Helper()
	agent.RequireStopped(t, hermesView(t, c, v, profile, true), profile)
	s, err := c.State(profile)
	require.NoError(t, err)
	assert.Equal(t, []string{"stopped", "stopped", "operator"}, []string{s.Gateway, s.Desired, s.Trigger}, "%s: ours: %s", profile, s)
}

// noHermesFights: the gateway's logs (its console through s6-log, every
// file of it, and its own logs) hold none of agent.Fights.
func noHermesFights(t *testing.T, c *overlay.Container, profile string) {
	t.Helper()
	found, read := agent.Fought(agent.GatewayLogs(c.VolumePath("logs", "gateways", profile), c.ProfileDir(profile)))
	assert.NotZero(t, read, "%s: no gateway log found", profile)
	assert.Empty(t, found, "%s: the logs say two gateways fought, or a life ended uncleanly", profile)
}

// hermesStop is docker stop with the sentinels that show stage 3's
// kill(-1), then the checks that every gateway of up stopped by itself,
// through its wrapper, before that kill(-1) and within stop_grace: not
// SIGKILLed, the table's state for a signal persisted, and hermes' own
// reader (on the host: no pid means anything any more) agreeing. It
// returns how long after SIGTERM to PID 1 each gateway's slot was down.
func hermesStop(t *testing.T, c *overlay.Container, v agent.Venv, grace time.Duration, label string, up ...string) map[string]time.Duration {
	t.Helper()
	settle(c)
	c.StartSentinel("term", false)
	c.StartSentinel("kill", true)
	st := c.Stop()
	budget := envMillis(t, c, "HERMES_STOP_BUDGET_MS", 0)
	require.False(t, st.Killed, "%s: the runtime had to SIGKILL PID 1", label)
	require.GreaterOrEqual(t, st.TermAll, time.Duration(0), "%s: the sentinel saw no kill(-1, SIGTERM)", label)
	slots := c.SlotStatuses()
	down := map[string]time.Duration{}
	var desc []string
	for _, p := range up {
		s, ok := slots[p]
		require.True(t, ok, "%s: no slot for %s", label, p)
		assert.Zero(t, s.Pid, "%s: %s's wrapper still up at the end", label, p)
		down[p] = s.Stamp.Sub(st.Start)
		var last overlay.Exit
		if ex := c.Exits(p); assert.NotEmpty(t, ex, "%s: %s has no exit history", label, p) {
			last = ex[len(ex)-1]
		}
		desc = append(desc, fmt.Sprintf("%s down at %s (exit %d signal %d trigger %s verdict %s)", p,
			down[p].Round(time.Millisecond), last.ExitCode, last.Signal, last.Trigger, last.Verdict))
		assert.NotEqual(t, 9, last.Signal, "%s: %s was SIGKILLed: %+v", label, p, last)
		assert.NotEqual(t, 13, last.Signal, "%s: %s died of SIGPIPE: %+v", label, p, last)
		assert.Less(t, down[p], grace, "%s: %s needed stop_grace", label, p)
		assert.Less(t, down[p], st.TermAll, "%s: %s was still up at stage 3's kill(-1, SIGTERM)", label, p)
		s2, err := c.State(p)
		require.NoError(t, err)
		assert.Equal(t, []string{"running", "running", "signal"}, []string{s2.Gateway, s2.Desired, s2.Trigger}, "%s: %s persisted %s", label, p, s2)

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		view, err := v.Inspect(ctx, c.ProfileDir(p), 0, false)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, "running", view.String("gateway_state"), "%s: %s: hermes' reader after docker stop: %v", label, p, view["runtime_status"])
		assert.Equal(t, "running", view.String("boot_prior_state"), "%s: %s: upstream's reconciler would start it", label, p)
		assert.Equal(t, false, view["lock_active"], "%s: %s", label, p)
		assert.Equal(t, true, view["clean_shutdown"], "%s: %s: the gateway went through its own shutdown", label, p)
		noHermesFights(t, c, p)
	}
	t.Logf("%s: docker stop took %s (budget %s); kill(-1,TERM) at %s, kill(-1,KILL) at %s; %s", label,
		st.After.Round(time.Millisecond), budget, st.TermAll.Round(time.Millisecond), st.KillAll.Round(time.Millisecond), strings.Join(desc, "; "))
	assert.Less(t, st.After, budget, "%s: docker stop", label)
	return down
}

// bootLines waits for stage 2 and returns this boot's lines of profiles.
func bootLines(t *testing.T, c *overlay.Container, profiles ...string) map[string]map[string]string {
	t.Helper()
	c.WaitBooted(60 * time.Second)
	log := readFile(t, c.VolumePath("logs", "container-boot.log"))
	out := map[string]map[string]string{}
	for _, p := range profiles {
		l := container.BootLine(log, p)
		require.NotNil(t, l, "boot %d: no line for %s; boot log:\n%s", c.Boots(), p, log)
		out[p] = l
	}
	return out
}

// TestHermesGatewayUnderInit runs the real gateway, the default profile and
// a named one, under the real init: both come up (hermes sees them
// running); docker stop stops each through its wrapper before stage 3's
// kill(-1), by itself within stop_grace, persisting running; a restart
// brings both back; an operator stop of the named one survives docker stop
// and restart, while the default comes back. Four boots, about 25 s on a
// loaded 2-core machine: opted in with HERMES_TEST_OVERLAY=1 like the
// other image tests; opted in, a missing venv fails (tests/run.sh
// installs it).
func TestHermesGatewayUnderInit(t *testing.T) {
	optIn(t, false)
	v := agent.NeedVenv(t)
	d, err := overlay.Locate()
	require.NoError(t, err)
	binds, err := overlay.HostPython(d.Rootfs, v.Dir)
	require.NoError(t, err)
	conf, grace := shippedHermesConfig(t, v)
	o := imageOptions()
	o.Config, o.Binds = conf, binds
	c := overlay.New(t, o)
	t.Logf("s6-overlay: %s; %d read-only binds for the host's Python and %s; stop_grace %s", d.How, len(binds), v.Dir, grace)
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range []string{"default", "coder"} {
				for _, f := range []string{"logs/gateway.log", "logs/errors.log", "logs/gateway-exit-diag.log"} {
					if b, err := os.ReadFile(filepath.Join(c.ProfileDir(p), f)); err == nil {
						t.Logf("-- %s/%s (tail):\n%s", p, f, tailLines(string(b), 30))
					}
				}
			}
		}
	})
	// The root profile as upstream hermes leaves it on a volume: running.
	require.NoError(t, os.WriteFile(c.VolumePath("gateway_state.json"), []byte(`{"gateway_state": "running"}`+"\n"), 0o644))
	require.NoError(t, os.Chown(c.VolumePath("gateway_state.json"), overlay.HermesUID, overlay.HermesUID))
	as := func(args ...string) {
		t.Helper()
		r := c.Supervisor(overlay.HermesUID, args...)
		require.True(t, r.OK(), "%s", r)
	}
	both := []string{"default", "coder"}

	// 1-2. Boot: the default starts; the named one is created and started
	// by the gateway user; hermes sees both running.
	c.Start()
	lines := bootLines(t, c, "default")
	assert.Equal(t, "started", lines["default"]["action"], "boot 1: %v", lines["default"])
	mounts := readFile(t, filepath.Join("/proc", strconv.Itoa(c.PID1()), "mountinfo"))
	assert.Regexp(t, `(?m) `+regexp.QuoteMeta(v.Dir)+` ro[, ]`, mounts, "the venv is mounted read-only")
	as("profile", "create", "coder")
	as("-p", "coder", "gateway", "start")
	lives := map[string]agent.Life{}
	for _, p := range both {
		lives[p] = waitHermesRunning(t, c, v, p, agent.Life{})
	}

	// 3. docker stop: each gateway stops by itself, through its wrapper.
	stops := map[string][]time.Duration{}
	for p, dt := range hermesStop(t, c, v, grace, "stop 1", both...) {
		stops[p] = append(stops[p], dt)
	}

	// 4. Restart: both come back, their last lives ended cleanly.
	c.Start()
	lines = bootLines(t, c, both...)
	for _, p := range both {
		assert.Equal(t, []string{"started", "running", "clean"}, []string{lines[p]["action"], lines[p]["prior_state"], lines[p]["prior_exit"]},
			"boot 2: %s: %v", p, lines[p])
	}
	for _, p := range both {
		lives[p] = waitHermesRunning(t, c, v, p, lives[p])
	}
	for p, dt := range hermesStop(t, c, v, grace, "stop 2", both...) {
		stops[p] = append(stops[p], dt)
	}

	// 5. An operator stop of the named one, then docker stop and restart:
	// it stays down, the default comes back.
	c.Start()
	bootLines(t, c, both...)
	for _, p := range both {
		lives[p] = waitHermesRunning(t, c, v, p, lives[p])
	}
	began := time.Now()
	as("-p", "coder", "gateway", "stop")
	t.Logf("operator stop of coder: `gateway stop` returned after %s", time.Since(began).Round(time.Millisecond))
	if ex := c.Exits("coder"); assert.NotEmpty(t, ex) {
		assert.NotEqual(t, 9, ex[len(ex)-1].Signal, "the operator stop SIGKILLed coder: %+v", ex[len(ex)-1])
	}
	requireHermesStopped(t, c, v, "coder")
	for p, dt := range hermesStop(t, c, v, grace, "stop 3 (coder stopped by the operator)", "default") {
		stops[p] = append(stops[p], dt)
	}
	s, err := c.State("coder")
	require.NoError(t, err)
	assert.Equal(t, []string{"stopped", "stopped"}, []string{s.Gateway, s.Desired}, "coder after docker stop: %s", s)

	c.Start()
	lines = bootLines(t, c, both...)
	assert.Equal(t, []string{"registered", "stopped"}, []string{lines["coder"]["action"], lines["coder"]["prior_state"]}, "boot 4: coder: %v", lines["coder"])
	assert.Equal(t, []string{"started", "clean"}, []string{lines["default"]["action"], lines["default"]["prior_exit"]}, "boot 4: default: %v", lines["default"])
	requireHermesStopped(t, c, v, "coder")
	lives["default"] = waitHermesRunning(t, c, v, "default", lives["default"])
	for p, dt := range hermesStop(t, c, v, grace, "stop 4", "default") {
		stops[p] = append(stops[p], dt)
	}
	noHermesFights(t, c, "coder")
	for _, p := range both {
		t.Logf("%s: down after docker stop's SIGTERM: %s", p, overlay.Summarize(stops[p]))
	}
}

func tailLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
