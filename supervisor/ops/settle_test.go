package ops_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// TestStopRecordsWhatNoSupervisorDecided: an operator's stop that no
// supervisor decided (the gateway was between lives, or exited without
// honouring the marker) leaves gateway_state "stopped", not the finish's
// "running"; a stop the supervised process honoured keeps what it decided.
func TestStopRecordsWhatNoSupervisorDecided(t *testing.T) {
	for name, tc := range map[string]struct {
		run         string // sh script; $1 is the marker's path
		betweenLife bool   // stop while s6 waits to restart it
		want        string
		wantReason  string
	}{
		"between lives":                {run: "exit 1", betweenLife: true, want: "stopped", wantReason: ops.ReasonStopBetweenLives},
		"exits without honouring":      {run: `trap "exit 0" TERM; while :; do sleep 0.05; done`, want: "stopped", wantReason: ops.ReasonStopBetweenLives},
		"honours the marker (decided)": {run: `trap 'rm -f "$1"; exit 0' TERM; while :; do sleep 0.05; done`, want: "running", wantReason: "exited 1: restart"},
	} {
		t.Run(name, func(t *testing.T) {
			o := newOps(t)
			o.Now = time.Now // a marker's written_at with nanoseconds must still be recognised
			ctx := context.Background()
			_, err := o.CreateProfile(ctx, "coder") // no s6-svscan yet: no slot
			require.NoError(t, err)
			s6test.Start(t, o.Config.Scandir)
			p, err := profile.For(o.Config.Home, "coder")
			require.NoError(t, err)
			// What a finish that decided to restart leaves behind.
			code := 1
			_, err = state.Set(p.State, state.Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning, ExitCode: &code, Reason: "exited 1: restart",
				Policy: "default@d43a0246", Trigger: "exited"}, time.Now())
			require.NoError(t, err)

			slot := filepath.Join(o.Config.Scandir, "gateway-coder")
			require.NoError(t, o.Tools.Publish(o.Config.Scandir, s6.Slot{Name: "gateway-coder",
				Run: []string{"/bin/sh", "-c", tc.run, "sh", p.Marker}}))
			require.NoError(t, o.Tools.Rescan(ctx, o.Config.Scandir, false))
			require.Eventually(t, func() bool {
				st, err := o.Tools.Status(ctx, slot)
				if err != nil {
					return false
				}
				if tc.betweenLife {
					return !st.Up && st.WantedUp && st.ExitCode == 1
				}
				return st.Up
			}, 10*time.Second, 10*time.Millisecond)

			require.NoError(t, o.Stop(ctx, "coder"))
			f, err := state.Read(p.State)
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.GatewayState)
			assert.Equal(t, "stopped", f.DesiredState)
			assert.Equal(t, tc.wantReason, f.Reason)
			if tc.want == "stopped" {
				assert.Empty(t, f.Policy, "no policy decided this stop")
				assert.Nil(t, f.ExitCode)
				assert.Equal(t, "operator", f.Trigger)
			} else {
				assert.Equal(t, "default@d43a0246", f.Policy)
			}
			assert.NoFileExists(t, p.Marker)
		})
	}
}

// A stop that fails after writing its marker (here: s6 does not see the
// service down in time) takes the marker back, so that the next plain
// signal (a container restart) is not read as this operator's stop.
func TestFailedStopWithdrawsItsMarker(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	_, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	s6test.Start(t, o.Config.Scandir)
	p, err := profile.For(o.Config.Home, "coder")
	require.NoError(t, err)
	slot := filepath.Join(o.Config.Scandir, "gateway-coder")
	// A service that ignores SIGTERM for a while, and never reads the marker.
	require.NoError(t, o.Tools.Publish(o.Config.Scandir, s6.Slot{Name: "gateway-coder",
		Run: []string{"/bin/sh", "-c", `trap "" TERM; sleep 30`}, TimeoutKill: 2 * time.Second}))
	require.NoError(t, o.Tools.Rescan(ctx, o.Config.Scandir, false))
	require.Eventually(t, func() bool { st, err := o.Tools.Status(ctx, slot); return err == nil && st.Up }, 10*time.Second, 10*time.Millisecond)

	o.Wait = 200 * time.Millisecond
	err = o.Stop(ctx, "coder")
	require.Error(t, err)
	assert.ErrorIs(t, err, s6.ErrTimeout)
	assert.NoFileExists(t, p.Marker, "the failed stop took its marker back")
	f, err := state.Read(p.State)
	require.NoError(t, err)
	assert.Equal(t, "stopped", f.DesiredState, "the operator's intent stays recorded")
}
