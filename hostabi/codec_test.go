package hostabi_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

var now = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

func TestInputRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   hostabi.Input
	}{
		{"empty boot", hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true}},
		{"boot of a volume without state (1.1)", hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true, NoStateFile: true, LegacyCommand: true,
			Params: hostabi.Params{{Key: hostabi.ParamBootstrapState, Type: hostabi.ParamString, Str: "running"}}}},
		{"legacy command, named profile (1.1)", hostabi.Input{Kind: hostabi.KindBoot, Profile: "coder", LegacyCommand: true}},
		{"boot with state", hostabi.Input{Kind: hostabi.KindBoot, Now: now, Profile: "coder", State: hostabi.StateDraining,
			Desired: hostabi.StateRunning, StateSince: now.Add(-time.Hour), PriorExit: hostabi.PriorExitUnclean}},
		{"shutdown", hostabi.Input{Kind: hostabi.KindShutdown, Now: now, Profile: "coder", Trigger: hostabi.TriggerOperator,
			Signal: 15, Phase: hostabi.PhaseDegraded, Uptime: 90 * time.Second}},
		{"exit killed with history", hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "a-b_c", ExitCode: -1, Signal: 9,
			History: []hostabi.ExitRecord{
				{Time: now.Add(-time.Minute), Uptime: 3 * time.Second, ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart},
				{Time: now.Add(-time.Second), ExitCode: -1, Signal: 9, Trigger: hostabi.TriggerSignal, Verdict: hostabi.ActionStop},
			}}},
		{"every parameter type", hostabi.Input{Kind: hostabi.KindExit, Profile: "p", Params: hostabi.Params{
			{Key: "a.bool", Type: hostabi.ParamBool, Bool: true},
			{Key: "b.int", Type: hostabi.ParamInt, Int: math.MinInt64},
			{Key: "c.float", Type: hostabi.ParamFloat, Float: 2.5},
			{Key: "d.string", Type: hostabi.ParamString, Str: "héllo"},
			{Key: "e.empty", Type: hostabi.ParamString},
		}}},
		{"future state values pass through", hostabi.Input{Kind: hostabi.KindBoot, Profile: "x", State: 42, Desired: 43}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := hostabi.AppendInput([]byte("prefix"), &c.in)
			require.NoError(t, err)
			require.Equal(t, "prefix", string(b[:6]), "AppendInput appends")
			assert.Equal(t, hostabi.EncodedInputSize(&c.in), len(b)-6)
			got, err := hostabi.DecodeInput(b[6:])
			require.NoError(t, err)
			assert.Equal(t, c.in, got)
		})
	}
}

// randomInput makes an input the codec must carry exactly: times at
// millisecond precision, durations in whole milliseconds.
func randomInput(r *rand.Rand) hostabi.Input {
	ms := func() time.Time {
		return time.UnixMilli(r.Int64N(4e12) + 1).UTC()
	}
	str := func(n int) string {
		b := make([]byte, r.IntN(n+1))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	in := hostabi.Input{
		Kind: hostabi.Kind(r.Uint32()), Now: ms(), Profile: str(hostabi.MaxProfileNameSize), Root: r.IntN(2) == 1, NoStateFile: r.IntN(2) == 1, LegacyCommand: r.IntN(2) == 1,
		State: hostabi.State(r.Uint32()), Desired: hostabi.State(r.Uint32()), StateSince: ms(),
		PriorExit: hostabi.PriorExit(r.Uint32()), Trigger: hostabi.Trigger(r.Uint32()), Signal: r.Int32(),
		Phase: hostabi.Phase(r.Uint32()), Uptime: time.Duration(r.Int64N(1e12)) * time.Millisecond, ExitCode: r.Int32() - r.Int32(),
	}
	for range r.IntN(hostabi.MaxHistory + 1) {
		in.History = append(in.History, hostabi.ExitRecord{Time: ms(), Uptime: time.Duration(r.Int64N(1e9)) * time.Millisecond,
			ExitCode: r.Int32(), Signal: r.Int32(), Trigger: hostabi.Trigger(r.Uint32()), Verdict: hostabi.Action(r.Uint32())})
	}
	for i := range r.IntN(8) {
		p := hostabi.Param{Key: string(rune('a'+i)) + str(10), Type: hostabi.ParamType(1 + r.IntN(4))}
		switch p.Type {
		case hostabi.ParamBool:
			p.Bool = r.IntN(2) == 1
		case hostabi.ParamInt:
			p.Int = int64(r.Uint64())
		case hostabi.ParamFloat:
			p.Float = r.NormFloat64() * 1e6
		case hostabi.ParamString:
			p.Str = str(100)
		}
		in.Params = append(in.Params, p)
	}
	return in
}

func TestInputRoundTripProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		in := randomInput(r)
		b, err := hostabi.AppendInput(nil, &in)
		require.NoError(t, err, "input %d", i)
		got, err := hostabi.DecodeInput(b)
		require.NoError(t, err, "input %d", i)
		require.Equal(t, in, got, "input %d", i)
	}
}

func TestAppendInputRefusesWhatTheABICannotCarry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   hostabi.Input
		want string
	}{
		{"long profile", hostabi.Input{Profile: strings.Repeat("a", 252)}, "profile name is 252 bytes"},
		{"long history", hostabi.Input{History: make([]hostabi.ExitRecord, 65)}, "65 history records"},
		{"bad param type", hostabi.Input{Params: hostabi.Params{{Key: "k", Type: 9}}}, "unknown type 9"},
		{"huge params", hostabi.Input{Params: hostabi.Params{{Key: "k", Type: hostabi.ParamString, Str: strings.Repeat("x", 17000)}}}, "more than 16384"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := hostabi.AppendInput(nil, &c.in)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func TestDecodeInputRejectsMalformed(t *testing.T) {
	t.Parallel()
	good, err := hostabi.AppendInput(nil, &hostabi.Input{Kind: hostabi.KindExit, Profile: "coder",
		History: []hostabi.ExitRecord{{ExitCode: 1}}, Params: hostabi.Params{{Key: "k", Type: hostabi.ParamBool, Bool: true}}})
	require.NoError(t, err)
	put := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	paramsAt := int(binary.LittleEndian.Uint32(good[84:]))
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:95], "shorter than the 96-byte header"},
		{"size past buffer", put(0, uint32(len(good)+1)), "input sizes"},
		{"header too small", put(4, 95), "input sizes"},
		{"profile outside", put(72, 10000), "profile"},
		{"too much history", put(80, 65), "65 history records"},
		{"history outside", put(80, 60), "history"},
		{"params outside", put(88, 10000), "params"},
		{"bad bool", func() []byte { b := bytes.Clone(good); b[paramsAt+4] = 2; return b }(), "bad bool"},
		{"bad param type", func() []byte { b := bytes.Clone(good); b[paramsAt+3] = 7; return b }(), "unknown type 7"},
		{"truncated param", put(88, 2), "truncated parameter entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := hostabi.DecodeInput(c.b)
			require.ErrorIs(t, err, hostabi.ErrMalformed)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func TestDecisionRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kind hostabi.Kind
		d    hostabi.Decision
	}{
		{"boot start", hostabi.KindBoot, hostabi.Decision{Action: hostabi.ActionStart, Reason: "desired running"}},
		{"boot skip", hostabi.KindBoot, hostabi.Decision{Action: hostabi.ActionSkip}},
		{"shutdown", hostabi.KindShutdown, hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateRunning, Reason: "restart requested"}},
		{"shutdown exit 255", hostabi.KindShutdown, hostabi.Decision{State: hostabi.StateRunning, ExitCode: 255}},
		{"exit restart later", hostabi.KindExit, hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: time.Hour, Reason: strings.Repeat("é", 128)}},
		{"exit stop", hostabi.KindExit, hostabi.Decision{Action: hostabi.ActionStop, Desired: hostabi.StateStopped}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := hostabi.AppendDecision(nil, &c.d)
			got, err := hostabi.DecodeDecision(c.kind, b)
			require.NoError(t, err)
			assert.Equal(t, c.d, got)
		})
	}
}

// A reason longer than MaxReasonLen is cut on a character boundary, never
// inside a character: a cut character would make the record invalid UTF-8,
// and the host would discard the policy's answer.
func TestAppendDecisionCutsReasonOnCharacterBoundary(t *testing.T) {
	t.Parallel()
	ascii := strings.Repeat("a", hostabi.MaxReasonLen-1)
	cases := []struct {
		name, reason, want string
	}{
		{"fits exactly", strings.Repeat("a", hostabi.MaxReasonLen), strings.Repeat("a", hostabi.MaxReasonLen)},
		{"ascii cut", strings.Repeat("a", hostabi.MaxReasonLen+5), strings.Repeat("a", hostabi.MaxReasonLen)},
		{"two-byte character across the limit", ascii + "é", ascii},
		{"two-byte character ends at the limit", strings.Repeat("a", hostabi.MaxReasonLen-2) + "éz", strings.Repeat("a", hostabi.MaxReasonLen-2) + "é"},
		{"three-byte character across the limit", ascii + "€", ascii},
		{"four-byte character across the limit", strings.Repeat("a", hostabi.MaxReasonLen-2) + "𝄞", strings.Repeat("a", hostabi.MaxReasonLen-2)},
		{"multi-byte only", strings.Repeat("€", 100), strings.Repeat("€", hostabi.MaxReasonLen/3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := hostabi.Decision{Action: hostabi.ActionStop, Reason: c.reason}
			got, err := hostabi.DecodeDecision(hostabi.KindExit, hostabi.AppendDecision(nil, &d))
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Reason)
		})
	}
}

func TestDecodeDecisionRejectsEachField(t *testing.T) {
	t.Parallel()
	enc := func(d hostabi.Decision) []byte { return hostabi.AppendDecision(nil, &d) }
	set := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	restart := enc(hostabi.Decision{Action: hostabi.ActionRestart, Reason: "ok"})
	cases := []struct {
		name string
		kind hostabi.Kind
		b    []byte
		want string
	}{
		{"short", hostabi.KindExit, restart[:31], "shorter than the 32-byte header"},
		{"oversized", hostabi.KindExit, make([]byte, 1025), "more than 1024"},
		{"reason too long", hostabi.KindExit, set(restart, 20, 257), "reason is 257 bytes"},
		{"size mismatch", hostabi.KindExit, set(restart, 0, 40), "does not match its reason length"},
		{"size past buffer", hostabi.KindExit, set(set(restart, 0, 42), 20, 10), "does not match"},
		{"negative delay", hostabi.KindExit, func() []byte {
			b := bytes.Clone(restart)
			binary.LittleEndian.PutUint64(b[24:], uint64(math.MaxUint64))
			return b
		}(), "delay_ms -1"},
		{"delay over an hour", hostabi.KindExit, enc(hostabi.Decision{Action: hostabi.ActionRestart, Delay: time.Hour + time.Millisecond}), "delay_ms 3600001"},
		{"reason not utf-8", hostabi.KindExit, append(set(set(restart, 0, 34), 20, 2)[:32], 0xff, 0xfe), "not valid UTF-8"},
		{"unknown kind", 9, restart, "kind 9"},
		{"boot action restart", hostabi.KindBoot, enc(hostabi.Decision{Action: hostabi.ActionRestart}), "boot decision: action restart"},
		{"boot seeds unreadable", hostabi.KindBoot, enc(hostabi.Decision{Action: hostabi.ActionStart, State: hostabi.StateUnreadable}), "state unreadable cannot be seeded"},
		{"boot seeds desired draining", hostabi.KindBoot, enc(hostabi.Decision{Action: hostabi.ActionStart, Desired: hostabi.StateDraining}), "desired draining is not none, running or stopped"},
		{"boot skip seeds", hostabi.KindBoot, enc(hostabi.Decision{Action: hostabi.ActionSkip, State: hostabi.StateRunning}), "skip seeds no state"},
		{"boot with exit code", hostabi.KindBoot, enc(hostabi.Decision{Action: hostabi.ActionStart, ExitCode: 1}), "exit_code and delay must be 0"},
		{"shutdown with action", hostabi.KindShutdown, enc(hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped}), "action must be none"},
		{"shutdown persists none", hostabi.KindShutdown, enc(hostabi.Decision{}), "state none cannot be persisted"},
		{"shutdown persists other", hostabi.KindShutdown, enc(hostabi.Decision{State: hostabi.StateOther}), "state other cannot be persisted"},
		{"shutdown exit code 256", hostabi.KindShutdown, enc(hostabi.Decision{State: hostabi.StateRunning, ExitCode: 256}), "exit_code 256"},
		{"shutdown delay", hostabi.KindShutdown, enc(hostabi.Decision{State: hostabi.StateRunning, Delay: time.Second}), "delay must be 0"},
		{"exit action start", hostabi.KindExit, enc(hostabi.Decision{Action: hostabi.ActionStart}), "not restart or stop"},
		{"exit persists unreadable", hostabi.KindExit, enc(hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateUnreadable}), "unreadable cannot be persisted"},
		{"exit with exit code", hostabi.KindExit, enc(hostabi.Decision{Action: hostabi.ActionStop, ExitCode: 3}), "exit_code must be 0"},
		{"exit stop with delay", hostabi.KindExit, enc(hostabi.Decision{Action: hostabi.ActionStop, Delay: time.Second}), "0 when stopping"},
		{"desired draining", hostabi.KindExit, enc(hostabi.Decision{Action: hostabi.ActionRestart, Desired: hostabi.StateDraining}), "desired draining"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := hostabi.DecodeDecision(c.kind, c.b)
			require.Error(t, err)
			assert.True(t, errors.Is(err, hostabi.ErrMalformed), "%v wraps ErrMalformed", err)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func TestVersionPacking(t *testing.T) {
	t.Parallel()
	v := hostabi.Version(hostabi.VersionMajor, 7)
	assert.Equal(t, uint32(0x00010007), v)
	major, minor := hostabi.SplitVersion(v)
	assert.Equal(t, uint16(1), major)
	assert.Equal(t, uint16(7), minor)
}

// TestBootSeed: ABI 1.1 lets a boot decision seed the profile's state;
// a module speaking 1.0 may not.
func TestBootSeed(t *testing.T) {
	t.Parallel()
	d := hostabi.Decision{Action: hostabi.ActionStart, State: hostabi.StateRunning, Desired: hostabi.StateRunning, Reason: "seeded"}
	got, err := hostabi.DecodeDecision(hostabi.KindBoot, hostabi.AppendDecision(nil, &d))
	require.NoError(t, err)
	assert.Equal(t, d, got)
	assert.NoError(t, got.ValidateMinor(hostabi.KindBoot, 1))
	assert.ErrorContains(t, got.ValidateMinor(hostabi.KindBoot, 0), "ABI 1.0 seeds no state")
	plain := hostabi.Decision{Action: hostabi.ActionDown}
	assert.NoError(t, plain.ValidateMinor(hostabi.KindBoot, 0))
	exit := hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning}
	assert.NoError(t, exit.ValidateMinor(hostabi.KindExit, 0))
}
