package policy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policies"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

// The embedded default module, and only it, runs metered, without
// termination checks and without the watchdog.
func TestOnlyTheEmbeddedDefaultIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, o := range []Options{{}, {Wasm: policies.Default, Module: "copy.wasm"}} {
		e, err := Open(ctx, o)
		require.NoError(t, err)
		assert.True(t, e.bounded, "%+v", o.Module)
		require.NotNil(t, e.inst.fuel)
		e.Close(ctx)
	}
	other := append([]byte(nil), policies.Default...)
	other = append(other, 0, 3, 1, 'x', 0) // a custom section: another module to the host
	e, err := Open(ctx, Options{Wasm: other, OnError: OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	assert.False(t, e.bounded, "a module other than the embedded bytes keeps the termination checks")
	assert.Nil(t, e.inst.fuel)
}

// TestDefaultModuleFuel asks the embedded default module the largest inputs
// the ABI carries and checks that it stays far within its budget: the
// budget bounds a broken module, never a working one.
func TestDefaultModuleFuel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := Open(ctx, Options{OnError: OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	require.True(t, e.bounded)

	now := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	history := make([]hostabi.ExitRecord, hostabi.MaxHistory)
	for i := range history {
		history[i] = hostabi.ExitRecord{Time: now, Uptime: time.Second, ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}
	}
	// As many parameters as fit, each a key sorting before multiplex_profiles
	// and sharing most of its bytes, so the module compares every one.
	var many hostabi.Params
	for size, i := 0, 0; ; i++ {
		p := hostabi.Param{Key: fmt.Sprintf("multiplex_profile%05d", i), Type: hostabi.ParamBool}
		if size+2+len(p.Key)+2 > hostabi.MaxParamsSize-30 {
			break
		}
		size += 2 + len(p.Key) + 2
		many = append(many, p)
	}
	many = append(many, hostabi.Param{Key: fallback.ParamMultiplex, Type: hostabi.ParamBool, Bool: true})
	tiny := hostabi.Params{}
	for i := 0; len(tiny)*4 < hostabi.MaxParamsSize-4; i++ {
		tiny = append(tiny, hostabi.Param{Key: "", Type: hostabi.ParamBool})
	}
	long := hostabi.Params{{Key: "a", Type: hostabi.ParamString, Str: strings.Repeat("x", hostabi.MaxParamsSize-8)}}

	worst, slowest := 0, time.Duration(0)
	for _, ps := range []hostabi.Params{nil, many, tiny, long} {
		for _, k := range []hostabi.Kind{hostabi.KindBoot, hostabi.KindShutdown, hostabi.KindExit} {
			in := &hostabi.Input{Kind: k, Now: now, Profile: strings.Repeat("p", hostabi.MaxProfileNameSize), State: 1 << 31, Desired: 1 << 31,
				Signal: -1 << 31, ExitCode: -1 << 31, History: history, Params: ps}
			start := time.Now()
			res, err := e.Decide(ctx, in)
			took := time.Since(start)
			require.NoError(t, err)
			require.False(t, res.Fallback, res.FallbackReason)
			assert.Equal(t, fallback.Decide(in), res.Decision)
			spent := fuelBudget - int(e.inst.fuel.Get())
			worst, slowest = max(worst, spent), max(slowest, took)
		}
	}
	t.Logf("largest inputs: at most %d of %d units spent, slowest decision %s", worst, fuelBudget, slowest)
	assert.Less(t, worst*16, fuelBudget, "the budget must leave the default module a wide margin")

	in := &hostabi.Input{Kind: hostabi.KindShutdown, Now: now, Profile: "coder", Trigger: hostabi.TriggerSignal, State: hostabi.StateRunning}
	_, err = e.Decide(ctx, in)
	require.NoError(t, err)
	t.Logf("an ordinary decision spends %d units", fuelBudget-int(e.inst.fuel.Get()))
}

// A bounded instance that spends its budget fails like a timed-out one:
// the failure is logged, the fallback answers, and the instance is thrown
// away.
func TestSpentBudgetIsAFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs strings.Builder
	e, err := Open(ctx, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	defer e.Close(ctx)
	first := e.inst
	e.budget, e.inst.budget = 3, 3
	in := &hostabi.Input{Kind: hostabi.KindExit, Profile: "coder", ExitCode: 3}
	res, err := e.Decide(ctx, in)
	require.NoError(t, err)
	assert.True(t, res.Failed)
	assert.Contains(t, res.FallbackReason, "spent its budget of 3 loop turns and calls")
	assert.Equal(t, fallback.Decide(in), res.Decision)
	assert.Nil(t, e.inst, "the instance is thrown away")
	assert.Contains(t, logs.String(), "module failed; deciding with the native fallback")

	e.budget = fuelBudget
	res, err = e.Decide(ctx, in)
	require.NoError(t, err)
	assert.False(t, res.Fallback, "a fresh instance answers")
	assert.NotSame(t, first, e.inst)
}
