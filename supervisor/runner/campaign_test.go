package runner

import (
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// TestPlantedMarkerNotHonoured: a marker written by another user (uid
// 10000) naming a root process (PID 1, with its true start time) is not
// honoured: "honoured" means the stop is taken as an operator's (stopped
// persisted, exit 0), which only the process the marker names may do. The
// supervisor that receives SIGTERM persists running, exits 1, removes the
// marker, and never signals the process named.
func TestPlantedMarkerNotHonoured(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-term-exit", "0"}, "")
	s := e.start()
	s.waitReady(t)
	init, err := state.ProcOf(1)
	require.NoError(t, err)
	_, err = state.WriteMarker(e.p.Marker, init, state.IntentStop, time.Now())
	require.NoError(t, err)
	require.NoError(t, os.Lchown(e.p.Marker, 10000, 10000))
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t), s.stderr.String())
	f := e.state()
	assert.Equal(t, "running", f.GatewayState)
	assert.Equal(t, "running", f.DesiredState)
	assert.Equal(t, hostabi.TriggerSignal.String(), f.Trigger)
	_, err = os.Lstat(e.p.Marker)
	assert.ErrorIs(t, err, os.ErrNotExist, "the planted marker is removed")
	again, err := state.ProcOf(1)
	require.NoError(t, err)
	assert.Equal(t, init, again, "PID 1 untouched")
}

// killDuringStop runs trials of: a ready gateway, mark (when not nil)
// writing a planned-stop marker, SIGTERM to "supervisor run", SIGKILL of it
// after a random delay below maxDelay. The state file must be whole and
// present; judge classifies it (and asserts on it), and the counts are
// logged.
func killDuringStop(t *testing.T, trials int, stream uint64, maxDelay time.Duration, mark func(e *env, pid int), judge func(i int, delay time.Duration, f state.File) string) {
	trials = testenv.Trials(t, 8, trials)
	rng := rand.New(rand.NewPCG(testenv.Seed(t), stream))
	seen := map[string]int{}
	for i := range trials {
		e := newEnv(t, profile.Root, []string{"-term-exit", "0"}, "")
		s := e.start()
		s.waitReady(t)
		require.Equal(t, "running", e.state().GatewayState)
		if mark != nil {
			mark(e, s.cmd.Process.Pid)
		}
		delay := time.Duration(rng.Int64N(int64(maxDelay)))
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
		time.Sleep(delay)
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.wait(t)
		f, err := state.Read(e.p.State)
		require.NoError(t, err, "trial %d (kill after %s): the state file is torn or unreadable", i, delay)
		require.True(t, f.Present, "trial %d (kill after %s): the state file is missing", i, delay)
		seen[judge(i, delay, f)]++
		if pid, _ := e.gatewayPid(); pid > 0 {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	t.Logf("%d trials: %v", trials, seen)
}

// TestKilledDuringShutdown: SIGKILL of "supervisor run" at a random point
// of its shutdown path (an operator stop: the previous state is running,
// the decided one stopped), 100 trials. The state file is always whole:
// the previous state or the decided one, never torn or missing.
func TestKilledDuringShutdown(t *testing.T) {
	mark := func(e *env, pid int) {
		_, err := state.WriteMarkerFor(e.p.Marker, pid, state.IntentStop, time.Now())
		require.NoError(t, err)
	}
	killDuringStop(t, 100, 6, 8*time.Millisecond, mark, func(i int, delay time.Duration, f state.File) string {
		switch f.GatewayState {
		case "running":
			return "previous"
		case "stopped":
			assert.Equal(t, "stopped", f.DesiredState, "trial %d: a decided state is written whole", i)
			return "decided"
		}
		t.Fatalf("trial %d (kill after %s): gateway_state %q is neither the previous nor the decided state", i, delay, f.GatewayState)
		return ""
	})
}

// TestKilledDuringPlainStop: the same for a plain SIGTERM, whose decision
// (running, desired running) is on disk already, so the signal is
// forwarded first and the stop's record written after. Killed anywhere,
// the file is whole and says running: the record of the stop is there or
// the previous one, never a state the policy did not decide.
func TestKilledDuringPlainStop(t *testing.T) {
	killDuringStop(t, 40, 7, 6*time.Millisecond, nil, func(i int, delay time.Duration, f state.File) string {
		assert.Equal(t, "running", f.GatewayState, "trial %d (kill after %s)", i, delay)
		assert.Equal(t, "running", f.DesiredState, "trial %d (kill after %s)", i, delay)
		if f.Trigger == hostabi.TriggerSignal.String() {
			return "recorded"
		}
		return "previous record"
	})
}
