package e2e

// Scenarios past the upstream suite, each across real container restarts
// and asserted on the boot log, the slot's files, s6-svstat and the state
// file.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

func TestOperatorStopSurvivesRestart(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "quiet")
	startGateway(t, c, 0, "quiet")
	waitState(t, c, "quiet", "running")

	run(t, c, 0, "-p", "quiet", "gateway", "stop")
	st := c.WaitDown("quiet", upDeadline)
	assert.False(t, st.WantedUp, "s6 still wants the stopped gateway up: %s", st.Raw)
	waitState(t, c, "quiet", "stopped")
	assert.True(t, jsonHas(statusJSON(t, c, 0, "quiet"), "gateway_state", "stopped"), "status --output json does not say stopped")

	for i := 0; i < 2; i++ {
		lines := restart(t, c, "quiet")
		assert.Equal(t, "stopped", lines["quiet"]["prior_state"], "restart %d", i+1)
		requireDown(t, c, lines["quiet"], "quiet")
		assert.Equal(t, "stopped", c.GatewayState("quiet"), "the boot must not rewrite an operator's stop")
	}
}

func TestGatewayRestartCommand(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "bouncy")
	first := startGateway(t, c, 0, "bouncy")
	waitState(t, c, "bouncy", "running")

	run(t, c, 0, "-p", "bouncy", "gateway", "restart")
	second := c.WaitStatus("bouncy", upDeadline, "up again under a new pid",
		func(s container.Status) bool { return s.Up && s.Pid != first.Pid })
	assert.True(t, second.WantedUp, "a restarted gateway stays wanted up: %s", second.Raw)
	waitState(t, c, "bouncy", "running")
	m, err := c.State("bouncy")
	require.NoError(t, err)
	if d, ok := m["desired_state"]; ok {
		assert.Equal(t, "running", d, "a restart keeps the desired state running")
	}
	assert.NoFileExists(t, filepath.Join(c.ProfileDir("bouncy"), ".gateway-planned-stop.json"), "the restart marker is consumed")

	// The operator's restart is not a stop: the next container boot starts it.
	lines := restart(t, c, "bouncy")
	requireStarted(t, c, lines["bouncy"], "bouncy")
}

func TestCrashLoopStoppedForGoodAndStaysDown(t *testing.T) {
	c := boot(t, "")
	crashloop := examplePolicy(t, c, "crashloop")
	c.WriteConfig(configWithPolicy(fmt.Sprintf("module = %q\ntimeout = \"2s\"", crashloop)))
	createProfile(t, c, 0, "flaky")
	setProfileConfig(t, c, "flaky", "[gateway]\ncommand = "+standin(c, "--crash-after=50ms", "--crash-code=3")+"\n")
	// The module in hermes.toml is read at the next boot.
	lines := restart(t, c, "flaky")
	assert.Contains(t, lines["default"]["policy"], "crashloop", "boot decided by the crashloop module: %v", lines["default"])

	// It never becomes ready: start reports that, naming the gateway.
	r := c.SupervisorAs(0, "-p", "flaky", "gateway", "start")
	if !r.OK() {
		assert.Contains(t, r.Stderr, `gateway "flaky" did not become ready`, "%s", r)
	}
	// It crashes, is restarted with backoff, and is stopped for good: s6 no
	// longer wants it up (finish exited 125).
	st := c.WaitStatus("flaky", 120e9, "stopped for good", func(s container.Status) bool { return !s.Up && !s.WantedUp })
	assert.Equal(t, 3, st.ExitCode, "the last life crashed with the stand-in's code: %s", st.Raw)

	lines = restart(t, c, "flaky")
	requireDown(t, c, lines["flaky"], "flaky")
	assert.Contains(t, lines["flaky"]["policy"], "crashloop")
	lines = restart(t, c, "flaky")
	requireDown(t, c, lines["flaky"], "flaky")
}

func TestSwappingPolicyModuleChangesNextBoot(t *testing.T) {
	c := boot(t, "")
	always := examplePolicy(t, c, "always")
	createProfile(t, c, 0, "swap")
	startGateway(t, c, 0, "swap")
	run(t, c, 0, "-p", "swap", "gateway", "stop")
	c.WaitDown("swap", upDeadline)
	waitState(t, c, "swap", "stopped")

	// The embedded default keeps an operator's stop down.
	lines := restart(t, c, "swap")
	requireDown(t, c, lines["swap"], "swap")
	assert.True(t, strings.HasPrefix(lines["swap"]["policy"], "default"), "policy field: %v", lines["swap"])

	// Docker's "always": every gateway comes back. Same binaries, new file.
	c.WriteConfig(configWithPolicy(fmt.Sprintf("module = %q\ntimeout = \"2s\"", always)))
	lines = restart(t, c, "swap")
	assert.True(t, strings.HasPrefix(lines["swap"]["policy"], "always"), "policy field: %v", lines["swap"])
	requireStarted(t, c, lines["swap"], "swap")

	// And back: an operator stop is kept down again (always would start it).
	c.WriteConfig(container.DefaultConfig)
	run(t, c, 0, "-p", "swap", "gateway", "stop")
	c.WaitDown("swap", upDeadline)
	waitState(t, c, "swap", "stopped")
	lines = restart(t, c, "swap")
	assert.True(t, strings.HasPrefix(lines["swap"]["policy"], "default"), "policy field: %v", lines["swap"])
	requireDown(t, c, lines["swap"], "swap")
}

func TestBrokenPolicyFallsBackAndLosesNothing(t *testing.T) {
	cases := []struct {
		name string
		body string
	}{
		{"hangs", "(loop $forever (br $forever)) (i64.const -1)"},
		{"traps", "(unreachable)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := boot(t, "")
			module := watModule(t, c, tc.name, brokenPolicy(tc.name, tc.body))
			c.WriteConfig(configWithPolicy(fmt.Sprintf("module = %q\ntimeout = \"100ms\"\non_error = \"fallback\"", module)))
			createProfile(t, c, 0, "up")
			createProfile(t, c, 0, "down")
			startGateway(t, c, 0, "up")
			waitState(t, c, "up", "running")
			stampState(t, c, "down", "stopped")

			// Boot decisions under the broken module: the fallback's.
			lines := restart(t, c, "up", "down")
			requireStarted(t, c, lines["up"], "up")
			requireDown(t, c, lines["down"], "down")
			waitState(t, c, "up", "running")

			// Shutdown decisions under it (the restart's SIGTERM): the
			// fallback persists running, and the next boot starts it again.
			lines = restart(t, c, "up", "down")
			requireStarted(t, c, lines["up"], "up")
			requireDown(t, c, lines["down"], "down")
			assert.Equal(t, "stopped", c.GatewayState("down"))

			// An operator stop under it: stopped, and it stays so.
			run(t, c, 0, "-p", "up", "gateway", "stop")
			c.WaitDown("up", upDeadline)
			waitState(t, c, "up", "stopped")
			lines = restart(t, c, "up", "down")
			requireDown(t, c, lines["up"], "up")
		})
	}
}

func TestUnprivilegedOperator(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, hermes, "ops")
	first := startGateway(t, c, hermes, "ops")
	waitState(t, c, "ops", "running")
	st := statusJSON(t, c, hermes, "ops")
	assert.True(t, jsonHas(st, "gateway_state", "running"), "status as hermes does not say running: %v", st)
	assert.True(t, jsonHas(st, "profile", "ops"), "status names the profile: %v", st)
	r := c.ExecAs(hermes, "s6-svstat", c.SlotInside("ops"))
	require.True(t, r.OK(), "s6-svstat as hermes: %s", r)

	run(t, c, hermes, "-p", "ops", "gateway", "restart")
	c.WaitStatus("ops", upDeadline, "up under a new pid", func(s container.Status) bool { return s.Up && s.Pid != first.Pid })

	run(t, c, hermes, "-p", "ops", "gateway", "stop")
	c.WaitDown("ops", upDeadline)
	waitState(t, c, "ops", "stopped")
	lines := restart(t, c, "ops")
	requireDown(t, c, lines["ops"], "ops")

	run(t, c, hermes, "-p", "ops", "gateway", "start")
	c.WaitUp("ops", upDeadline)
	waitState(t, c, "ops", "running")
	lines = restart(t, c, "ops")
	requireStarted(t, c, lines["ops"], "ops")
}

func TestFiftyProfilesFiveRestarts(t *testing.T) {
	c := boot(t, "")
	const n = 50
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("p%02d", i)
		createProfile(t, c, 0, names[i])
	}
	wantUp := func(i int) bool { return i%2 == 0 }
	for i, name := range names {
		if wantUp(i) {
			run(t, c, 0, "-p", name, "gateway", "start")
		}
	}
	for i, name := range names {
		if wantUp(i) {
			waitState(t, c, name, "running")
		}
	}
	rounds := testenv.Trials(t, 2, 5)
	for round := 1; round <= rounds; round++ {
		lines := restart(t, c, names...)
		for i, name := range names {
			line := lines[name]
			if wantUp(i) {
				assert.Equal(t, "started", line["action"], "round %d: %s: %v", round, name, line)
				assert.False(t, c.SlotHas(name, "down"), "round %d: %s has a down file", round, name)
			} else {
				assert.NotEqual(t, "started", line["action"], "round %d: %s: %v", round, name, line)
				assert.True(t, c.SlotHas(name, "down"), "round %d: %s has no down file", round, name)
			}
		}
		for i, name := range names {
			if wantUp(i) {
				c.WaitUp(name, upDeadline)
				waitState(t, c, name, "running")
			} else {
				// Once s6-svscan has started its s6-supervise (on a loaded
				// machine, not at once after boot), the slot must be down.
				st := c.WaitStatus(name, upDeadline, "supervised", func(container.Status) bool { return true })
				assert.False(t, st.Up || st.WantedUp, "round %d: %s: %s", round, name, st.Raw)
			}
		}
		if t.Failed() {
			return
		}
	}
}

func TestGatewayIgnoringSIGTERMIsKilledWithinGrace(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "deaf")
	setProfileConfig(t, c, "deaf", "[gateway]\ncommand = "+standin(c, "--ignore-term")+"\nstop_grace = \"1s\"\n")
	startGateway(t, c, 0, "deaf")
	waitState(t, c, "deaf", "running")

	// docker restart: the supervisor SIGKILLs the deaf gateway after its 1 s
	// grace, so s6 comes down by itself long before Docker's 10 s SIGKILL.
	st := c.Restart()
	assert.False(t, st.Killed, "PID 1 had to be SIGKILLed: the deaf gateway outlived the stop grace")
	assert.GreaterOrEqual(t, st.After, time.Second,
		"init exited before the deaf gateway's 1 s grace ran out: it did not bring the gateways down through s6")
	lines := c.WaitBoot(bootDeadline, "deaf")
	assert.Equal(t, "running", lines["deaf"]["prior_state"], "the decided state for a restart's SIGTERM is running")
	requireStarted(t, c, lines["deaf"], "deaf")
	waitState(t, c, "deaf", "running")

	// An operator stop of the deaf gateway: killed after the grace, stopped.
	run(t, c, 0, "-p", "deaf", "gateway", "stop")
	c.WaitDown("deaf", upDeadline)
	waitState(t, c, "deaf", "stopped")
	lines = restart(t, c, "deaf")
	requireDown(t, c, lines["deaf"], "deaf")
}
