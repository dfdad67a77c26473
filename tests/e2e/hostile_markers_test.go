package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileFailedStopLeavesNoMarker (issue 11, class 8): a `gateway
// stop` that fails after writing its planned-stop marker removes it. Here
// the stop fails on its next step, recording desired_state (the state
// file cannot be replaced: a directory stands in its place while the
// command runs), so s6 is never asked and the gateway stays up. A plain
// container restart that follows, within the marker's 60 s, is then a
// plain signal: the shutdown records trigger=signal and the next boot
// starts the gateway again. With the marker left behind, the restart was
// recorded as an operator's stop and the gateway stayed down.
//
// (A planted marker is the gateway user's to write, like `gateway stop`
// is theirs to run: the README documents that trust model; not tested.)
func TestHostileFailedStopLeavesNoMarker(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "victim")
	up := startGateway(t, c, hermes, "victim")
	waitState(t, c, "victim", "running")
	dir := c.ProfileDir("victim")
	marker := filepath.Join(dir, ".gateway-planned-stop.json")
	stateFile := filepath.Join(dir, "gateway_state.json")

	// The state write of the stop will fail.
	mustAttack(t, c, `mv "$1" "$1.aside" && mkdir "$1"`, stateFile)
	w := startWatch(t, syscall.IN_CREATE|syscall.IN_MOVED_TO|syscall.IN_DELETE|syscall.IN_MOVED_FROM, dir)
	r := c.SupervisorAs(hermes, "-p", "victim", "gateway", "stop")
	events := w.Stop()
	t.Logf("the failing stop: %s", r)
	t.Logf("in %s meanwhile: %q", dir, events)
	require.False(t, r.OK(), "the stop was meant to fail on its state write: %s", r)
	wrote := false
	for _, e := range events {
		if strings.HasPrefix(e, marker+" ") && (strings.Contains(e, "CREATE") || strings.Contains(e, "MOVED_TO")) {
			wrote = true
		}
	}
	require.True(t, wrote, "the stop failed before writing its marker, so this test does not test the failure after it: %q", events)
	mustAttack(t, c, `rmdir "$1" && mv "$1.aside" "$1"`, stateFile)

	_, err := os.Lstat(marker)
	assert.ErrorIs(t, err, os.ErrNotExist, "the failed stop left its marker %s naming the live supervisor", marker)
	st, err := c.Svstat("victim")
	require.NoError(t, err)
	require.True(t, st.Up && st.Pid == up.Pid, "the failed stop reached s6 after all: %s", st.Raw)

	lines := restart(t, c, "victim")
	m, err := c.State("victim")
	require.NoError(t, err)
	assert.Equal(t, "signal", m["trigger"], "the container restart after a failed stop was recorded as %v: %v", m["trigger"], m)
	requireStarted(t, c, lines["victim"], "victim")
}
