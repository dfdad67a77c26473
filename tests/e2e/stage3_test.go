package e2e

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// TestStage3KillWithoutStopStep: a container stop as s6-overlay's stage 3
// does it in an image without the stop step: kill(-1, SIGTERM) reaches
// every wrapper, every gateway (which exits at once) and every s6-log at
// the same instant. No wrapper takes the stop for its gateway's exit
// (trigger=exited), none dies of its dead logger (SIGPIPE), and every
// gateway persists the container stop's decision: running, trigger
// signal, and comes back at the next boot.
func TestStage3KillWithoutStopStep(t *testing.T) {
	require.NoError(t, container.HermesUser())
	c := container.New(t, container.Options{Env: []string{"HERMES_STOP_BUDGET_MS=0", "S6_KILL_GRACETIME=3000"}})
	require.NoError(t, c.Bin.NeedStandin())
	c.Start()
	c.WaitBoot(bootDeadline, "default")
	names := make([]string, 6)
	for i := range names {
		names[i] = fmt.Sprintf("fast%d", i)
		createProfile(t, c, hermes, names[i])
		run(t, c, hermes, "-p", names[i], "gateway", "start")
	}
	stops := testenv.Trials(t, 3, 20)
	bad := 0
	for stop := range stops {
		for _, n := range names {
			c.WaitUp(n, upDeadline)
			require.True(t, container.Poll(upDeadline, func() bool { return c.GatewayState(n) == "running" }), "%s never running", n)
		}
		st := c.Stop()
		require.False(t, st.Killed, "PID 1 had to be killed")
		for _, n := range names {
			m, err := c.State(n)
			require.NoError(t, err)
			if !assert.Equal(t, "signal", m["trigger"], "stop %d, %s: %v", stop, n, m) || !assert.Equal(t, "running", m["gateway_state"], "stop %d, %s", stop, n) {
				bad++
			}
		}
		c.Start()
		lines := c.WaitBoot(bootDeadline, append([]string{"default"}, names...)...)
		for _, n := range names {
			assert.Equal(t, "started", lines[n]["action"], "stop %d: %s comes back", stop, n)
		}
	}
	t.Logf("%d stops of %d fast gateways by kill(-1) alone: %d wrong records", stops, len(names), bad)
}
