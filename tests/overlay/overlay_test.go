package overlay_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/overlay"
)

func TestMain(m *testing.M) {
	code := m.Run()
	overlay.Cleanup()
	container.Cleanup()
	os.Exit(code)
}

// optIn gates the tests that boot the image: they need root and s6-overlay
// (built once by build.sh, about 3 minutes), which tests/run.sh provides.
// Opted in, a missing dependency fails the test, saying how to provide it.
func optIn(t *testing.T, long bool) {
	t.Helper()
	if os.Getenv("HERMES_TEST_OVERLAY") != "1" {
		t.Skip("boots the image under the real s6-overlay /init: set HERMES_TEST_OVERLAY=1 (tests/run.sh does; needs root, and " +
			overlay.DistEnv + " or shared/s6-overlay/build.sh)")
	}
	if long && os.Getenv("HERMES_TEST_LONG") != "1" {
		t.Skip("long: set HERMES_TEST_LONG=1 (tests/run.sh does)")
	}
}

// imageOptions: the module's fragment, or HERMES_OVERLAY_FRAGMENT (with
// HERMES_OVERLAY_CONTEXT, colon-separated build-context directories) to
// run the same scenarios on another one.
func imageOptions() overlay.Options {
	o := overlay.Options{Fragment: os.Getenv("HERMES_OVERLAY_FRAGMENT")}
	if v := os.Getenv("HERMES_OVERLAY_CONTEXT"); v != "" {
		o.Context = strings.Split(v, ":")
	}
	return o
}

// settle waits until the container has been up 2 s: s6-supervise restarts a
// service at most once a second, and stage 4 restarts
// s6-linux-init-shutdownd, so a stop within a second of the boot waits for
// that throttle. Real containers live longer.
func settle(c *overlay.Container) {
	if u := c.Uptime(); u < 2*time.Second {
		time.Sleep(2*time.Second - u)
	}
}

// envMillis reads an image ENV value in milliseconds.
func envMillis(t *testing.T, c *overlay.Container, name string, def int) time.Duration {
	t.Helper()
	v, ok := c.Image.EnvMap[name]
	if !ok {
		return time.Duration(def) * time.Millisecond
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "image ENV %s=%q", name, v)
	return time.Duration(n) * time.Millisecond
}

// stopBudget is what the fragment documents for a stop: the stop step's
// budget, then S6_KILL_GRACETIME, plus a second for the rest of stage 3.
func stopBudget(t *testing.T, c *overlay.Container) time.Duration {
	return envMillis(t, c, "HERMES_STOP_BUDGET_MS", 0) + envMillis(t, c, "S6_KILL_GRACETIME", 3000) + time.Second
}

// TestFragmentParses needs nothing: the fragment reads as the builder
// expects (the fragment's steps are what the image tests run).
func TestFragmentParses(t *testing.T) {
	root, err := container.ModuleRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "s6", "overlay", "Dockerfile.fragment"))
	require.NoError(t, err)
	ins, err := overlay.ParseFragment(string(data))
	require.NoError(t, err)
	var cmds []string
	var xz, untar, env, entry int
	for i, in := range ins {
		cmds = append(cmds, in.Cmd)
		switch {
		case in.Cmd == "RUN" && strings.Contains(in.Args, "xz-utils"):
			xz = i + 1
		case in.Cmd == "RUN" && strings.Contains(in.Args, "-Jxpf"):
			untar = i + 1
		case in.Cmd == "ENV":
			env = i + 1
			assert.NotContains(t, in.Args, "#", "a comment line inside ENV must be dropped")
		case in.Cmd == "ENTRYPOINT":
			entry = i + 1
			assert.Equal(t, `["/init"]`, in.Args)
		}
	}
	assert.NotZero(t, xz, "the fragment installs xz-utils: %v", cmds)
	assert.Less(t, xz, untar, "xz-utils is installed before the tarballs are unpacked: %v", cmds)
	assert.NotZero(t, env)
	assert.NotZero(t, entry)
}

func TestParseFragmentContinuations(t *testing.T) {
	ins, err := overlay.ParseFragment("# head\nARG V=1\nENV A=1 \\\n    # inside\n    B=\"two words\"\nRUN a \\\n && b\n")
	require.NoError(t, err)
	require.Len(t, ins, 3)
	assert.Equal(t, overlay.Instruction{Line: 2, Cmd: "ARG", Args: "V=1"}, ins[0])
	assert.Equal(t, `A=1 B="two words"`, ins[1].Args)
	assert.Equal(t, "a && b", ins[2].Args)
	_, err = overlay.ParseFragment("RUN a \\\n")
	assert.Error(t, err)
}

// TestBoot boots the image and stops it idle.
func TestBoot(t *testing.T) {
	optIn(t, false)
	c := overlay.New(t, imageOptions())
	t.Logf("s6-overlay: %s", c.Dist.How)
	c.Start()
	c.WaitBooted(60 * time.Second)

	mounts, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.PID1()), "mountinfo"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m) /run [^\n]* - tmpfs `, string(mounts), "/run is a tmpfs")
	assert.Regexp(t, `(?m) /opt/data `, string(mounts), "the volume is mounted")

	r := c.Exec("id", "hermes")
	require.True(t, r.OK(), r.String())
	assert.Contains(t, r.Stdout, "uid=10000(hermes) gid=10000(hermes)")

	line := container.BootLine(readFile(t, c.VolumePath("logs", "container-boot.log")), "default")
	require.NotNil(t, line, "the boot log names the default profile")
	assert.Equal(t, "registered", line["action"])
	_, err = os.Stat(c.Path("/run/service/gateway-default/down"))
	assert.NoError(t, err, "the default profile's slot is published down")
	// docker exec gets the image's PATH, without /command (only /init adds it).
	r = c.Exec("/command/s6-svwait", "-U", "-t", "10000", "/run/service/hermes-registrar")
	assert.True(t, r.OK(), "the registrar is up and ready: %s", r)

	settle(c)
	st := c.Stop()
	assert.False(t, st.Killed, "the runtime had to SIGKILL PID 1")
	budget := stopBudget(t, c)
	t.Logf("idle stop: %s (budget %s)", st.After.Round(time.Millisecond), budget)
	// Idle, nothing waits: the stop costs S6_KILL_GRACETIME and stage 3's own work.
	assert.Less(t, st.After, envMillis(t, c, "S6_KILL_GRACETIME", 3000)+time.Second, "idle stop")
	assert.Less(t, st.After, budget)
}

// TestOperatorCommands: create, start, stop and restart as the hermes user
// (docker exec -u 10000), then a container restart brings back what was
// running and only that.
func TestOperatorCommands(t *testing.T) {
	optIn(t, false)
	c := overlay.New(t, imageOptions())
	c.Start()
	c.WaitBooted(60 * time.Second)
	as := func(args ...string) overlay.Result {
		t.Helper()
		r := c.Supervisor(overlay.HermesUID, args...)
		require.True(t, r.OK(), r.String())
		return r
	}
	state := func(p string) overlay.GatewayState {
		t.Helper()
		s, err := c.State(p)
		require.NoError(t, err)
		return s
	}
	for _, p := range []string{"coder", "idle"} {
		as("profile", "create", p)
		require.NoError(t, os.WriteFile(filepath.Join(c.ProfileDir(p), "profile.toml.new"), []byte(overlay.GatewayCommand(p, 0)), 0o644))
		require.NoError(t, os.Chown(filepath.Join(c.ProfileDir(p), "profile.toml.new"), overlay.HermesUID, overlay.HermesUID))
		require.NoError(t, os.Rename(filepath.Join(c.ProfileDir(p), "profile.toml.new"), filepath.Join(c.ProfileDir(p), "profile.toml")))
		as("-p", p, "gateway", "start")
		s := state(p)
		assert.Equal(t, "running", s.Gateway, "%s after start: %s", p, s)
		assert.Equal(t, "running", s.Desired, "%s after start: %s", p, s)
	}
	r := as("-p", "coder", "gateway", "status")
	assert.Contains(t, r.Stdout+r.Stderr, "running")

	as("-p", "idle", "gateway", "stop")
	s := state("idle")
	assert.Equal(t, []string{"stopped", "stopped", "operator"}, []string{s.Gateway, s.Desired, s.Trigger}, "idle after an operator stop: %s", s)

	as("-p", "coder", "gateway", "restart")
	s = state("coder")
	assert.Equal(t, []string{"running", "running"}, []string{s.Gateway, s.Desired}, "coder after restart: %s", s)
	assert.Equal(t, 2, c.GatewayEvents("coder").Lives, "restart gives the gateway a new life")

	st := c.Stop()
	assert.False(t, st.Killed)
	s = state("coder")
	assert.Equal(t, []string{"running", "running", "signal"}, []string{s.Gateway, s.Desired, s.Trigger}, "coder after docker stop: %s", s)
	s = state("idle")
	assert.Equal(t, []string{"stopped", "stopped"}, []string{s.Gateway, s.Desired}, "idle after docker stop: %s", s)

	c.Start()
	c.WaitBooted(60 * time.Second)
	log := readFile(t, c.VolumePath("logs", "container-boot.log"))
	lines := strings.Split(strings.TrimSpace(log), "\n")
	last := strings.Join(lines[max(0, len(lines)-3):], "\n")
	if l := container.BootLine(last, "coder"); assert.NotNil(t, l, "boot log:\n%s", log) {
		assert.Equal(t, "started", l["action"], "coder comes back")
	}
	if l := container.BootLine(last, "idle"); assert.NotNil(t, l, "boot log:\n%s", log) {
		assert.Equal(t, "registered", l["action"], "an operator-stopped gateway stays down")
	}
	require.True(t, container.Poll(20*time.Second, func() bool { return c.GatewayEvents("coder").Lives == 3 && c.GatewayEvents("coder").Ready }),
		"coder's gateway is running again")
	c.Stop()
}

// TestDockerStop: six fast gateways (exit at once on SIGTERM) and six slow
// ones (6 s to stop, under stop_grace 10s). docker stop must stop each
// through its wrapper before stage 3's kill(-1): each persists the table's
// state for a signal, the slow ones finish by themselves, no SIGPIPE; the
// restart brings all back.
func TestDockerStop(t *testing.T) {
	optIn(t, false)
	c := overlay.New(t, imageOptions())
	fl := c.SeedFleet(6, 6, 6*time.Second)
	budget := stopBudget(t, c)
	for boot := 1; boot <= 2; boot++ {
		c.Start()
		c.WaitBooted(60 * time.Second)
		if boot > 1 {
			log := readFile(t, c.VolumePath("logs", "container-boot.log"))
			for _, p := range fl.Profiles {
				l := container.BootLine(log, p)
				if assert.NotNil(t, l, "boot %d: no boot line for %s", boot, p) {
					assert.Equal(t, "started", l["action"], "boot %d: %s comes back", boot, p)
				}
			}
		}
		require.Empty(t, c.WaitFleetUp(fl, boot, 60*time.Second), "boot %d: gateways not up", boot)
		c.StartSentinel("term", false)
		c.StartSentinel("kill", true)
		st := c.Stop()
		t.Logf("boot %d: stop %s, kill(-1,TERM) at %s, kill(-1,KILL) at %s (budget %s)", boot,
			st.After.Round(time.Millisecond), st.TermAll.Round(time.Millisecond), st.KillAll.Round(time.Millisecond), budget)
		assert.False(t, st.Killed, "the runtime had to SIGKILL PID 1")
		assert.Less(t, st.After, budget)
		require.GreaterOrEqual(t, st.TermAll, time.Duration(0), "the sentinel saw no kill(-1, SIGTERM)")
		for _, g := range c.ObserveStop(fl, st) {
			assert.Equal(t, []string{"running", "running", "signal"}, []string{g.State.Gateway, g.State.Desired, g.State.Trigger},
				"boot %d: %s persisted %s", boot, g.Profile, g.State)
			assert.True(t, g.Exited, "boot %d: %s was SIGKILLed (signals %v)", boot, g.Profile, g.Signals)
			assert.NotEqual(t, 13, g.LastExit.Signal, "boot %d: %s: SIGPIPE", boot, g.Profile)
			assert.Less(t, g.TermAfter, st.TermAll, "boot %d: %s got its SIGTERM from stage 3's kill(-1), not from its wrapper", boot, g.Profile)
		}
	}
}

// TestFastStopRace repeats docker stop with six gateways that exit at once
// on SIGTERM: never a trigger=exited (the wrapper taking the container stop
// for an exit by itself).
func TestFastStopRace(t *testing.T) {
	optIn(t, true)
	c := overlay.New(t, imageOptions())
	fl := c.SeedFleet(6, 0, 0)
	triggers := overlay.Tally{}
	var stops []time.Duration
	for boot := 1; boot <= 20; boot++ {
		c.Start()
		c.WaitBooted(60 * time.Second)
		require.Empty(t, c.WaitFleetUp(fl, boot, 60*time.Second), "boot %d: gateways not back", boot)
		st := c.Stop()
		stops = append(stops, st.After)
		for _, g := range c.ObserveStop(fl, st) {
			triggers[g.State.Trigger]++
			assert.Equal(t, []string{"running", "running", "signal"}, []string{g.State.Gateway, g.State.Desired, g.State.Trigger},
				"stop %d: %s persisted %s", boot, g.Profile, g.State)
			assert.NotEqual(t, 13, g.LastExit.Signal, "stop %d: %s: SIGPIPE", boot, g.Profile)
		}
	}
	t.Logf("20 stops of 6 fast gateways: %s; triggers %s", overlay.Summarize(stops), triggers)
}

// TestStopTwentyGateways: the stop of 20 gateways at once stays well under
// the budget.
func TestStopTwentyGateways(t *testing.T) {
	optIn(t, true)
	c := overlay.New(t, imageOptions())
	fl := c.SeedFleet(20, 0, 0)
	var stops []time.Duration
	for boot := 1; boot <= 3; boot++ {
		c.Start()
		c.WaitBooted(60 * time.Second)
		require.Empty(t, c.WaitFleetUp(fl, boot, 60*time.Second), "boot %d: gateways not back", boot)
		st := c.Stop()
		stops = append(stops, st.After)
		for _, g := range c.ObserveStop(fl, st) {
			assert.Equal(t, []string{"running", "running", "signal"}, []string{g.State.Gateway, g.State.Desired, g.State.Trigger},
				"stop %d: %s persisted %s", boot, g.Profile, g.State)
		}
	}
	s := overlay.Summarize(stops)
	t.Logf("20 gateways: %s", s)
	assert.Less(t, s.Median, envMillis(t, c, "S6_KILL_GRACETIME", 3000)+2*time.Second)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(data)
}
