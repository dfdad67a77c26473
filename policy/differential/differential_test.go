package differential_test

import (
	"context"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/differential"
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
// on the whole grid.
func TestMimicAgreesOnTheGrid(t *testing.T) {
	e := open(t, "mimic")
	grid, want := differential.Grid(), differential.GridSize()
	if testing.Short() {
		grid, want = differential.Every(13, grid), (want+12)/13
	}
	n, diffs := differential.Compare(context.Background(), e, grid, 10)
	assert.Equal(t, want, n)
	for _, d := range diffs {
		t.Error(d)
	}
}

// The harness catches a module that differs: counter restarts everything
// with its own reason and makes no boot or shutdown decisions.
func TestHarnessCatchesDisagreement(t *testing.T) {
	e := open(t, "counter")
	_, diffs := differential.Compare(context.Background(), e, differential.Grid(), 3)
	require.Len(t, diffs, 3)
	assert.Contains(t, diffs[0].String(), "module did not answer")
	assert.Contains(t, diffs[0].String(), "does not make boot decisions")
}

func TestScenariosFromFixtures(t *testing.T) {
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
