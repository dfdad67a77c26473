package differential_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/differential"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/wattest"
)

func open(t *testing.T, name string) *policy.Engine {
	t.Helper()
	ctx := context.Background()
	wasm := wattest.Compile(t, filepath.Join("..", "testdata", "modules", name+".wat"))
	e, err := policy.Open(ctx, policy.Options{Wasm: wasm, Module: name + ".wasm", OnError: policy.OnErrorFail, Timeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(ctx) })
	return e
}

// The harness proven on the hand-written mimic of the fallback: it agrees
// on a sample of the grid (the whole grid runs once, on the embedded default
// module, in package fallback's tests).
func TestMimicAgreesOnTheGrid(t *testing.T) {
	t.Parallel()
	e := open(t, "mimic")
	n, diffs := differential.Compare(context.Background(), e, differential.SampleInputs(t, 10_000), 10)
	assert.Equal(t, 10_000, n)
	for _, d := range diffs {
		t.Error(d)
	}
}

// The harness catches a module that differs: counter restarts everything
// with its own reason and makes no boot or shutdown decisions.
func TestHarnessCatchesDisagreement(t *testing.T) {
	t.Parallel()
	e := open(t, "counter")
	_, diffs := differential.Compare(context.Background(), e, differential.Grid(), 3)
	require.Len(t, diffs, 3)
	assert.Contains(t, diffs[0].String(), "module did not answer")
	assert.Contains(t, diffs[0].String(), "does not make boot decisions")
}

// The grid is every combination of its dimensions, each once: input i is
// the i-th combination in mixed radix (checked on a sample of indices, the
// first and the last), and the last input holds the last value of each.
func TestGridIsEveryCombination(t *testing.T) {
	t.Parallel()
	index := func(in *hostabi.Input) int {
		t.Helper()
		i := 0
		digit := func(pos, n int) {
			require.GreaterOrEqual(t, pos, 0, "a value outside its dimension in %+v", in)
			i = i*n + pos
		}
		digit(slices.Index(differential.Kinds, in.Kind), len(differential.Kinds))
		digit(slices.Index(differential.Triggers, in.Trigger), len(differential.Triggers))
		digit(slices.Index(differential.Phases, in.Phase), len(differential.Phases))
		digit(slices.Index(differential.PriorExits, in.PriorExit), len(differential.PriorExits))
		digit(slices.Index(differential.States, in.State), len(differential.States))
		digit(slices.Index(differential.States, in.Desired), len(differential.States))
		digit(slices.Index(differential.ExitStatuses, differential.ExitStatus{Code: in.ExitCode, Signal: in.Signal}), len(differential.ExitStatuses))
		digit(slices.IndexFunc(differential.Profiles, func(p differential.Profile) bool {
			return p.Name == in.Profile && p.Root == in.Root && reflect.DeepEqual(p.Params, in.Params) &&
				p.NoStateFile == in.NoStateFile && p.LegacyCommand == in.LegacyCommand
		}), len(differential.Profiles))
		return i
	}
	size := differential.GridSize()
	assert.Equal(t, len(differential.Kinds)*len(differential.Triggers)*len(differential.Phases)*len(differential.PriorExits)*
		len(differential.States)*len(differential.States)*len(differential.ExitStatuses)*len(differential.Profiles), size)
	r := rand.New(rand.NewPCG(1, 2))
	var in hostabi.Input
	for _, i := range append([]int{0, 1, size - 1}, func() []int {
		s := make([]int, 10_000)
		for j := range s {
			s[j] = r.IntN(size)
		}
		return s
	}()...) {
		differential.GridInput(i, &in)
		require.Equal(t, i, index(&in))
	}
	differential.GridInput(size-1, &in)
	assert.Equal(t, hostabi.State(1<<31), in.State, "values outside the ABI's names are in the grid")
	assert.Equal(t, differential.ExitStatus{Code: fallback.ExitConfig, Signal: math.MinInt32}, differential.ExitStatus{Code: in.ExitCode, Signal: in.Signal})
	assert.Panics(t, func() { differential.GridInput(size, &in) })
}

// A sample is a function of its seed.
func TestSampleReplaysItsSeed(t *testing.T) {
	t.Parallel()
	draw := func(seed uint64) []hostabi.Input {
		var out []hostabi.Input
		for in := range differential.Sample(seed, 100) {
			out = append(out, *in)
		}
		return out
	}
	assert.Equal(t, draw(7), draw(7))
	assert.NotEqual(t, draw(7), draw(8))
}

func TestScenariosFromFixtures(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"fixtures/a.toml": {Data: []byte("[[scenario]]\nname = \"x\"\ndecision = \"exit\"\n[scenario.input]\nexit_code = 3\n[scenario.expect]\naction = \"restart\"\n")},
		"README.md":       {Data: []byte("not a fixture")},
	}
	inputs, n, err := differential.Scenarios(fsys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for in := range inputs {
		assert.Equal(t, hostabi.KindExit, in.Kind)
		assert.Equal(t, int32(3), in.ExitCode)
	}
	_, diffs := differential.Compare(context.Background(), open(t, "mimic"), inputs, 10)
	assert.Empty(t, diffs)
}
