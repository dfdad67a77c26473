package lifecycle

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	sf, err := state.Parse([]byte(`{"gateway_state":"running","desired_state":"running","updated_at":"2026-11-25T20:59:00Z"}`))
	require.NoError(t, err)
	f := state.Facts{State: sf}
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

func TestFinishCodeAndDelay(t *testing.T) {
	cases := []struct {
		name  string
		v     state.Verdict
		code  int
		delay time.Duration // 0: none
	}{
		{"operator stop stays down", state.Verdict{Kind: hostabi.KindShutdown, Desired: hostabi.StateStopped}, 125, 0},
		{"restart marker restarts", state.Verdict{Kind: hostabi.KindShutdown, Desired: hostabi.StateRunning}, 0, 0},
		{"plain signal restarts", state.Verdict{Kind: hostabi.KindShutdown}, 0, 0},
		{"a shutdown has no delay", state.Verdict{Kind: hostabi.KindShutdown, DelayMS: 5000}, 0, 0},
		{"exit stop", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionStop}, 125, 0},
		{"exit stop has no delay", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionStop, DelayMS: 5000}, 125, 0},
		{"exit restart now", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionRestart}, 0, 0},
		{"short delay, served by the next run", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionRestart, DelayMS: 300}, 0, 300 * time.Millisecond},
		{"long delay, served by the next run", state.Verdict{Kind: hostabi.KindExit, Action: hostabi.ActionRestart, DelayMS: 30001}, 0, 30001 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.v.WrittenAt = t0
			assert.Equal(t, c.code, FinishCode(c.v))
			want := time.Time{}
			if c.delay > 0 {
				want = t0.Add(c.delay)
			}
			assert.Equal(t, want, RestartNotBefore(c.v))
		})
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

func TestBootInput(t *testing.T) {
	f := state.Facts{StateAbsent: true}
	ps := hostabi.Params{{Key: hostabi.ParamBootstrapState, Type: hostabi.ParamString, Str: "running"}}
	in := BootInput(t0, "default", f, Container{LegacyCommand: true, Params: ps})
	assert.Equal(t, hostabi.Input{Kind: hostabi.KindBoot, Now: t0, Profile: "default", Root: true, NoStateFile: true,
		LegacyCommand: true, Params: ps}, in)
}

// TestPriorExit: the gateway's own ledger wins over the supervisor's; a
// life the policy gave up on is unclean whatever the ledgers say.
func TestPriorExit(t *testing.T) {
	gaveUp := hostabi.ExitRecord{Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionStop, ExitCode: 1}
	cases := []struct {
		name string
		f    state.Facts
		want hostabi.PriorExit
	}{
		{"nothing known", state.Facts{}, hostabi.PriorExitUnknown},
		{"ours exited", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"}}, hostabi.PriorExitClean},
		{"ours running", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "running"}}, hostabi.PriorExitUnclean},
		{"the gateway's exited wins over ours running", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "running"},
			GatewayLedger: state.GatewayLedger{Present: true, Phase: "exited"}}, hostabi.PriorExitClean},
		{"the gateway's running", state.Facts{GatewayLedger: state.GatewayLedger{Present: true, Phase: "running"}}, hostabi.PriorExitUnclean},
		{"the gateway's unreadable is unknown, not ours", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"},
			GatewayLedger: state.GatewayLedger{Present: true, Err: state.ErrUnreadable}}, hostabi.PriorExitUnknown},
		{"the gateway's other phase", state.Facts{GatewayLedger: state.GatewayLedger{Present: true, Phase: "stopping"}}, hostabi.PriorExitUnknown},
		{"crash-looped: the policy gave up", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"},
			History: []hostabi.ExitRecord{gaveUp}}, hostabi.PriorExitUnclean},
		{"gave up on a killed gateway", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"},
			History: []hostabi.ExitRecord{{Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionStop, ExitCode: -1, Signal: 9}}}, hostabi.PriorExitUnclean},
		{"gave up, then a later life ended cleanly", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"},
			History: []hostabi.ExitRecord{gaveUp, {Trigger: hostabi.TriggerOperator}}}, hostabi.PriorExitClean},
		{"exit 0 stopped for good is clean", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"},
			History: []hostabi.ExitRecord{{Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionStop}}}, hostabi.PriorExitClean},
		{"a restart verdict is no giving up", state.Facts{LedgerOK: true, Ledger: state.Ledger{Phase: "exited"},
			History: []hostabi.ExitRecord{{Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart, ExitCode: 1}}}, hostabi.PriorExitClean},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, PriorExit(c.f)) })
	}
}

// TestPriorState: the boot log's prior_state is the deciding intent, raw.
func TestPriorState(t *testing.T) {
	cases := []struct {
		content string // "" : no file; "!": unreadable
		want    string
		quoted  string
	}{
		{"", "none", "none"},
		{"!", "none", "none"},
		{`{}`, "none", "none"},
		{`{"gateway_state":"running"}`, "running", "running"},
		{`{"gateway_state":"draining"}`, "running", "running"},
		{`{"gateway_state":"degraded"}`, "running", "running"},
		{`{"gateway_state":"Draining"}`, "Draining", "Draining"},
		{`{"gateway_state":"running","desired_state":"stopped"}`, "stopped", "stopped"},
		{`{"gateway_state":"running","desired_state":"draining"}`, "draining", "draining"},
		{`{"gateway_state":"running","desired_state":""}`, "", `""`},
		{`{"gateway_state":"running","desired_state":null}`, "running", "running"},
		{`{"desired_state":" running"}`, " running", `" running"`},
		{`{"desired_state":"running\n"}`, "running\n", `"running\n"`},
		{`{"desired_state":1}`, "1", "1"},
		{`{"desired_state":"none"}`, "none", `"none"`},
	}
	for _, c := range cases {
		t.Run(c.content, func(t *testing.T) {
			var f state.File
			switch c.content {
			case "":
			case "!":
				f.Unreadable = true
			default:
				var err error
				f, err = state.Parse([]byte(c.content))
				require.NoError(t, err)
			}
			got := PriorState(f, state.Change{}, false)
			assert.Equal(t, c.want, got)
			reserved := []string{}
			if f.DesiredSet() || f.GatewaySet() {
				reserved = []string{"none"}
			}
			assert.Equal(t, c.quoted, QuoteLog(got, reserved...))
		})
	}
	assert.Equal(t, "running", PriorState(state.File{}, state.Change{Gateway: hostabi.StateRunning}, true))
	assert.Equal(t, "running", PriorState(state.File{}, state.Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning}, true))
}

func TestBootSeed(t *testing.T) {
	_, ok := BootSeed(hostabi.Decision{Action: hostabi.ActionStart}, "default@1")
	assert.False(t, ok)
	c, ok := BootSeed(hostabi.Decision{Action: hostabi.ActionStart, State: hostabi.StateRunning, Desired: hostabi.StateRunning, Reason: "r"}, "default@1")
	require.True(t, ok)
	assert.Equal(t, state.Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning, Reason: "r", Policy: "default@1", Trigger: "boot"}, c)
}

// TestLegacyCommand: upstream's test_is_legacy_gateway_run_request cases.
func TestLegacyCommand(t *testing.T) {
	cases := []struct {
		argv []string
		env  string
		want bool
	}{
		{[]string{"gateway", "run"}, "", true},
		{[]string{"hermes", "gateway", "run"}, "", true},
		{[]string{"/usr/local/bin/hermes", "gateway", "run", "--replace"}, "", true},
		{[]string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"}, "", true},
		{[]string{"/bin/sh", "-e", "/run/s6/basedir/scripts/rc.init", "top", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"}, "", true},
		{[]string{"/init", "gateway", "run"}, "", true},
		{[]string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run", "-p", "coder"}, "", true},
		{[]string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run", "--no-supervise"}, "", false},
		{[]string{"gateway", "run"}, "1", false},
		{[]string{"gateway", "run"}, "TRUE", false},
		{[]string{"gateway", "run"}, "yes", false},
		{[]string{"gateway", "run"}, " yes", true}, // upstream does not strip
		{[]string{"gateway", "run"}, "0", true},
		{[]string{"/init", "/opt/hermes/docker/main-wrapper.sh", "dashboard"}, "", false},
		{[]string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway"}, "", false},
		{[]string{"sleep", "infinity"}, "", false},
		{[]string{"/sbin/init"}, "", false},
		{nil, "", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, LegacyCommand(c.argv, c.env), "%q with HERMES_GATEWAY_NO_SUPERVISE=%q", c.argv, c.env)
	}
}

// TestReapply: what the hermes gateway's last write undid is written again;
// what an operator wrote after the decision is not.
func TestReapply(t *testing.T) {
	parse := func(s string) state.File {
		f, err := state.Parse([]byte(s))
		require.NoError(t, err)
		return f
	}
	stop := state.Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateStopped, Reason: "operator stop", Trigger: "operator"}
	revive := state.Change{Gateway: hostabi.StateRunning, Reason: "signal without marker: revive at boot", Trigger: "signal"}
	cases := []struct {
		name    string
		decided state.Change
		before  hostabi.State
		now     string
		want    state.Change
		ok      bool
	}{
		{"nothing undone", stop, hostabi.StateRunning, `{"gateway_state":"stopped","desired_state":"stopped"}`, state.Change{}, false},
		{"the gateway's terminal running after an operator stop", stop, hostabi.StateRunning,
			`{"gateway_state":"running","desired_state":"stopped","pid":42}`,
			state.Change{Gateway: hostabi.StateStopped, Reason: "operator stop", Trigger: "operator"}, true},
		{"a gateway's write lost the desired state too", stop, hostabi.StateRunning, `{"gateway_state":"running","desired_state":"running"}`, stop, true},
		{"an operator started it meanwhile: desired left alone", stop, hostabi.StateStopped,
			`{"gateway_state":"draining","desired_state":"running"}`,
			state.Change{Gateway: hostabi.StateStopped, Reason: "operator stop", Trigger: "operator"}, true},
		{"the gateway's draining after a plain signal", revive, hostabi.StateRunning, `{"gateway_state":"draining"}`, revive, true},
		{"a plain signal, the gateway wrote running: nothing", revive, hostabi.StateRunning, `{"gateway_state":"running"}`, state.Change{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Reapply(c.decided, c.before, parse(c.now))
			assert.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
		})
	}
}
