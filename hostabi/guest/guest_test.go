package guest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

func TestRegisterMetadata(t *testing.T) {
	f := func(*hostabi.Input) hostabi.Decision { return hostabi.Decision{} }
	cases := []struct {
		name string
		p    Policy
		want string
	}{
		{"all", Policy{Name: "p", Version: "1", Boot: f, Shutdown: f, Exit: f}, "name=p\nversion=1\ndecisions=boot,shutdown,exit\n"},
		{"exit only", Policy{Name: "q", Version: "2.0", Exit: f}, "name=q\nversion=2.0\ndecisions=exit\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			Register(c.p)
			assert.Equal(t, c.want, string(metadata))
			_, err := hostabi.ParseMetadata(metadata)
			require.NoError(t, err)
		})
	}
}

func TestDecideRoundTrip(t *testing.T) {
	var seen hostabi.Input
	Register(Policy{Name: "t", Version: "1", Exit: func(in *hostabi.Input) hostabi.Decision {
		seen = *in
		return hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: 2 * time.Second, Reason: "again"}
	}})
	now := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	in := hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "coder", ExitCode: 3, Uptime: time.Minute,
		History: []hostabi.ExitRecord{{Time: now.Add(-time.Hour), Uptime: time.Second, ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}},
		Params:  hostabi.Params{{Key: "x", Type: hostabi.ParamInt, Int: 5}}}
	rec, err := hostabi.AppendInput(nil, &in)
	require.NoError(t, err)

	out, code := decide(hostabi.KindExit, rec)
	require.Zero(t, code)
	d, err := hostabi.DecodeDecision(hostabi.KindExit, out)
	require.NoError(t, err)
	assert.Equal(t, hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: 2 * time.Second, Reason: "again"}, d)
	assert.Equal(t, "coder", seen.Profile)
	assert.Equal(t, int64(5), seen.Params.Int("x", 0))
	assert.Len(t, seen.History, 1)
	assert.True(t, seen.Now.Equal(now))

	_, code = decide(hostabi.KindBoot, rec)
	assert.Equal(t, int64(-1), code, "an unregistered decision is declined")
	_, code = decide(hostabi.KindExit, rec[:50])
	assert.Equal(t, int64(-2), code, "a truncated record is refused")
}

// A Go policy's reason past 256 bytes is cut on a character boundary, so the
// host still accepts its decision.
func TestDecideCutsLongReasonOnCharacterBoundary(t *testing.T) {
	reason := strings.Repeat("a", hostabi.MaxReasonLen-1) + "é"
	Register(Policy{Name: "t", Version: "1", Exit: func(*hostabi.Input) hostabi.Decision {
		return hostabi.Decision{Action: hostabi.ActionStop, Reason: reason}
	}})
	rec, err := hostabi.AppendInput(nil, &hostabi.Input{Kind: hostabi.KindExit, Profile: "coder"})
	require.NoError(t, err)
	out, code := decide(hostabi.KindExit, rec)
	require.Zero(t, code)
	d, err := hostabi.DecodeDecision(hostabi.KindExit, out)
	require.NoError(t, err, "the host refuses the record")
	assert.Equal(t, reason[:hostabi.MaxReasonLen-1], d.Reason)
}

func TestRegisterDeclaresParams(t *testing.T) {
	f := func(*hostabi.Input) hostabi.Decision { return hostabi.Decision{} }
	multiplex, window := Bool("multiplex_profiles", false), Duration("window", 10*time.Minute)
	max, ratio, mode := Int("max_crashes", 5), Float("ratio", 0.5), String("bootstrap_state", "")
	Register(Policy{Name: "p", Version: "1", Exit: f, Params: []Param{multiplex, window, max, ratio, mode}})
	assert.Equal(t, "name=p\nversion=1\ndecisions=exit\nparams=multiplex_profiles:bool:false,window:duration:10m,max_crashes:int:5,ratio:float:0.5,bootstrap_state:string:\n", string(metadata))
	m, err := hostabi.ParseMetadata(metadata)
	require.NoError(t, err)
	assert.Len(t, m.Params, 5)

	in := &hostabi.Input{}
	assert.Equal(t, false, multiplex.From(in), "absent: the declared default")
	assert.Equal(t, 10*time.Minute, window.From(in))
	assert.Equal(t, int64(5), max.From(in))
	assert.Equal(t, 0.5, ratio.From(in))
	in.Params, err = hostabi.ParamsFromMap(map[string]any{"multiplex_profiles": true, "window": "5m", "max_crashes": int64(3), "ratio": 0.25, "bootstrap_state": "running"})
	require.NoError(t, err)
	assert.Equal(t, true, multiplex.From(in))
	assert.Equal(t, 5*time.Minute, window.From(in))
	assert.Equal(t, int64(3), max.From(in))
	assert.Equal(t, 0.25, ratio.From(in))
	assert.Equal(t, "running", mode.From(in))
	in.Params, err = hostabi.ParamsFromMap(map[string]any{"window": "soon"})
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, window.From(in), "not a duration: the default")

	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 0: "0s", 1500 * time.Millisecond: "1.5s"} {
		assert.Equal(t, want, Duration("d", d).Spec().Default)
	}

	Register(Policy{Name: "p", Version: "1", Exit: f, Params: []Param{}})
	assert.Contains(t, string(metadata), "params=\n", "an empty list declares none")
	Register(Policy{Name: "p", Version: "1", Exit: f})
	assert.NotContains(t, string(metadata), "params", "nil declares nothing")
}
