package e2e

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileSuperviseStaysRoots (issue 11, class 3): s6-supervise runs as
// root and rewrites supervise/status through supervise/status.new; a
// symlink the gateway user plants there makes root overwrite any file. So
// supervise/ stays root's: the gateway user cannot create anything in it
// (EACCES), and a root-only file is untouched however often the gateway
// starts and stops. What s6's access model gives the gateway user is
// enough to run it: `gateway start|stop|restart|status` and s6-svwait
// work as uid 10000, with real s6.
func TestHostileSuperviseStaysRoots(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "victim")
	target := rootOnlyFile(t, rootOnlyDir(t, c, "rootonly"), "target", "root's file: must stay as it is\n")
	before := snapshot(t, target)
	first := startGateway(t, c, hermes, "victim")
	slot := c.SlotInside("victim")
	supervise := filepath.Join(slot, "supervise")

	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(c.Path(supervise), &st))
	assert.Equal(t, uint32(0), st.Uid, "%s belongs to uid %d, not root", supervise, st.Uid)

	for _, attempt := range []struct{ name, script string }{
		{"symlink status.new to a root-only file", `ln -s "$2" "$1/status.new"`},
		{"create a file", `: > "$1/planted"`},
		{"create a directory", `mkdir "$1/planted-dir"`},
	} {
		r := attackAs(c, attempt.script, supervise, target)
		assert.False(t, r.OK(), "the gateway user could %s in %s: %s", attempt.name, supervise, r)
		if !r.OK() {
			assert.Contains(t, r.Stderr, "ermission denied", "%s: refused, but not by permissions: %s", attempt.name, r)
		}
	}

	// s6-supervise writes its status at every change: make a few, as
	// root's operator (what the gateway user planted may have broken its
	// own commands).
	run(t, c, 0, "-p", "victim", "gateway", "stop")
	c.WaitDown("victim", upDeadline)
	startGateway(t, c, 0, "victim")
	assert.Equal(t, before, snapshot(t, target), "root's s6-supervise wrote through what the gateway user planted in %s", supervise)

	// The gateway user runs its gateway through s6's access model.
	run(t, c, hermes, "-p", "victim", "gateway", "stop")
	c.WaitDown("victim", upDeadline)
	r := c.ExecAs(hermes, "s6-svwait", "-D", "-t", "10000", slot)
	assert.True(t, r.OK(), "s6-svwait -D as the gateway user: %s", r)
	second := startGateway(t, c, hermes, "victim")
	assert.NotEqual(t, first.Pid, second.Pid)
	r = c.ExecAs(hermes, "s6-svwait", "-U", "-t", "10000", slot)
	assert.True(t, r.OK(), "s6-svwait -U as the gateway user: %s", r)
	run(t, c, hermes, "-p", "victim", "gateway", "restart")
	r = c.ExecAs(hermes, "s6-svwait", "-U", "-t", "10000", slot)
	assert.True(t, r.OK(), "s6-svwait -U as the gateway user after a restart: %s", r)
	status := c.SupervisorAs(hermes, "-p", "victim", "gateway", "status")
	assert.Equal(t, 0, status.Code, "gateway status as the gateway user: %s", status)
	assert.Contains(t, status.Stdout, "victim")
	r = c.ExecAs(hermes, "s6-svstat", slot)
	assert.True(t, r.OK(), "s6-svstat as the gateway user (supervise/status readable): %s", r)
	run(t, c, hermes, "-p", "victim", "gateway", "stop")
	c.WaitDown("victim", upDeadline)

	assert.Equal(t, before, snapshot(t, target), "root's s6-supervise wrote through what the gateway user planted in %s (during the gateway user's own start, stop and restart)", supervise)
}
