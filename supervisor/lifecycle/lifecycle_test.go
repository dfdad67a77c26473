package lifecycle

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

var t0 = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

func TestTriggerOf(t *testing.T) {
	cases := []struct {
		name string
		j    state.Judgement
		i    state.Intent
		want hostabi.Trigger
	}{
		{"honoured stop", state.MarkerHonoured, state.IntentStop, hostabi.TriggerOperator},
		{"honoured restart", state.MarkerHonoured, state.IntentRestart, hostabi.TriggerRestart},
		{"absent", state.MarkerAbsent, "", hostabi.TriggerSignal},
		{"other", state.MarkerOther, state.IntentStop, hostabi.TriggerSignal},
		{"expired", state.MarkerExpired, state.IntentRestart, hostabi.TriggerSignal},
		{"future", state.MarkerFuture, state.IntentStop, hostabi.TriggerSignal},
		{"malformed", state.MarkerMalformed, "", hostabi.TriggerSignal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, TriggerOf(c.j, state.Marker{Intent: c.i}))
		})
	}
}

func TestInputs(t *testing.T) {
	f := state.Facts{State: state.File{Present: true, GatewayState: "running", DesiredState: "running", UpdatedAt: t0.Add(-time.Minute)}}
	l := Life{Phase: hostabi.PhaseDegraded, StartedAt: t0.Add(-90 * time.Second)}
	in := ShutdownInput(t0, "default", f, l, hostabi.TriggerOperator, syscall.SIGTERM)
	assert.Equal(t, hostabi.Input{Kind: hostabi.KindShutdown, Now: t0, Profile: "default", Root: true, State: hostabi.StateRunning,
		Desired: hostabi.StateRunning, StateSince: t0.Add(-time.Minute), Trigger: hostabi.TriggerOperator, Signal: 15,
		Phase: hostabi.PhaseDegraded, Uptime: 90 * time.Second}, in)
	ex := ExitInput(t0, "default", f, l, FromS6(256, 9))
	assert.Equal(t, int32(-1), ex.ExitCode)
	assert.Equal(t, int32(9), ex.Signal)
	assert.Equal(t, hostabi.KindExit, ex.Kind)
}

func TestFromS6(t *testing.T) {
	assert.Equal(t, ExitStatus{Code: 3}, FromS6(3, 0))
	assert.Equal(t, ExitStatus{Code: -1, Signal: 15}, FromS6(256, 15))
	assert.Equal(t, 143, FromS6(256, 15).RunExitCode())
	assert.Equal(t, 3, FromS6(3, 0).RunExitCode())
}

func TestPlanFinish(t *testing.T) {
	cases := []struct {
		name string
		v    state.Verdict
		want FinishPlan
	}{
		{"operator stop stays down", state.Verdict{Kind: hostabi.KindShutdown, Desired: hostabi.StateStopped}, FinishPlan{Code: 125}},
		{"restart marker restarts", state.Verdict{Kind: hostabi.KindShutdown, Desired: hostabi.StateRunning}, FinishPlan{Code: 0}},
		{"plain signal restarts", state.Verdict{Kind: hostabi.KindShutdown}, FinishPlan{Code: 0}},
		{"exit stop", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionStop}, FinishPlan{Code: 125}},
		{"exit restart now", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionRestart}, FinishPlan{Code: 0}},
		{"short delay slept", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionRestart, DelayMS: 3000}, FinishPlan{Code: 0, Sleep: 3 * time.Second}},
		{"long delay deferred", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionRestart, DelayMS: 3001}, FinishPlan{Code: 0, RestartNotBefore: t0.Add(3001 * time.Millisecond)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, PlanFinish(c.v, t0)) })
	}
}

func TestParsePhase(t *testing.T) {
	cases := []struct {
		line  string
		phase hostabi.Phase
		ready bool
		ok    bool
	}{
		{"ready", hostabi.PhaseRunning, true, true},
		{" ready \r", hostabi.PhaseRunning, true, true},
		{"phase=running", hostabi.PhaseRunning, true, true},
		{"phase=degraded", hostabi.PhaseDegraded, false, true},
		{"phase=draining", hostabi.PhaseDraining, false, true},
		{"phase=starting", hostabi.PhaseStarting, false, true},
		{"phase=exploding", 0, false, false},
		{"READY", 0, false, false},
		{"", 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			p, r, ok := ParsePhase(c.line)
			assert.Equal(t, c.phase, p)
			assert.Equal(t, c.ready, r)
			assert.Equal(t, c.ok, ok)
		})
	}
}
