package e2e

// The upstream suite (hermes-agent tests/docker/test_container_restart.py),
// scenario for scenario: the same steps, the same assertions on the boot
// log, the slot's files and s6-svstat. Every `docker exec` runs as the
// unprivileged hermes user, as upstream's do.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunningGatewaySurvivesContainerRestart(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, hermes, "coder")
	st := startGateway(t, c, hermes, "coder")
	require.True(t, st.Up, "gateway never came up pre-restart: %s", st.Raw)

	// Stamp the state directly, to exercise the reconciler's contract.
	stampState(t, c, "coder", "running")

	lines := restart(t, c, "coder")
	log := c.BootLog()
	require.Contains(t, log, "profile=coder", "reconciler never logged coder after restart")
	assert.Equal(t, "started", lines["coder"]["action"], "boot log: %s", log)
	assert.Equal(t, "running", lines["coder"]["prior_state"])
	require.True(t, c.WaitPath(c.SlotInside("coder"), pathDeadline), "slot not recreated after restart")
	assert.False(t, c.SlotHas("coder", "down"), "down marker present despite prior_state=running")
	c.WaitUp("coder", upDeadline)
}

func TestStoppedGatewayStaysStoppedAfterRestart(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, hermes, "writer")
	stampState(t, c, "writer", "stopped")

	lines := restart(t, c, "writer")
	require.Contains(t, c.BootLog(), "profile=writer")
	assert.Equal(t, "stopped", lines["writer"]["prior_state"])
	require.True(t, c.WaitPath(c.SlotInside("writer"), pathDeadline), "slot missing after restart")
	assert.True(t, c.SlotHas("writer", "down"), "down marker missing despite prior_state=stopped")
	requireDown(t, c, lines["writer"], "writer")
}

func TestStaleGatewayPidCleanedUpOnRestart(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, hermes, "ghost")
	stampState(t, c, "ghost", "stopped")
	writeAs(t, c, "ghost", "gateway.pid", `{"pid": 99999, "host": "old"}`)
	writeAs(t, c, "ghost", "processes.json", `[]`)
	require.FileExists(t, filepath.Join(c.ProfileDir("ghost"), "gateway.pid"))

	restart(t, c, "ghost")
	assert.NoFileExists(t, filepath.Join(c.ProfileDir("ghost"), "gateway.pid"), "stale gateway.pid survived restart")
	assert.NoFileExists(t, filepath.Join(c.ProfileDir("ghost"), "processes.json"), "stale processes.json survived restart")
}

// The end-to-end guard for upstream issue #42675: a live gateway killed by
// the SIGTERM of a real restart (no stamped state, no planned-stop marker)
// must record running itself and come back on the next boot.
func TestLiveGatewayAutostartsAfterRealRestartWithoutManualStateStamp(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, hermes, "live")
	st := startGateway(t, c, hermes, "live")
	require.True(t, st.Up, "gateway never came up pre-restart: %s", st.Raw)

	// The gateway's supervisor persists running by itself; nothing is stamped.
	waitState(t, c, "live", "running")
	data, err := os.ReadFile(filepath.Join(c.ProfileDir("live"), "gateway_state.json"))
	require.NoError(t, err)
	require.Contains(t, string(data), `"running"`, "gateway never persisted running state pre-restart")
	require.NoFileExists(t, filepath.Join(c.ProfileDir("live"), ".gateway-planned-stop.json"), "no marker: this is not an operator stop")

	lines := restart(t, c, "live")
	log := c.BootLog()
	require.Contains(t, log, "profile=live", "reconciler never logged live after restart")
	assert.Equal(t, "started", lines["live"]["action"],
		"gateway did NOT auto-start after a real restart (issue #42675 regression): %s", log)
	assert.Equal(t, "running", lines["live"]["prior_state"], "the restart's SIGTERM must persist running, not stopped: %s",
		strings.TrimSpace(log))
	require.True(t, c.WaitPath(c.SlotInside("live"), pathDeadline), "slot not recreated after restart")
	assert.False(t, c.SlotHas("live", "down"),
		"down marker present despite a live gateway being restarted: the signal-initiated shutdown wrongly persisted 'stopped'")
	c.WaitUp("live", upDeadline)
}
