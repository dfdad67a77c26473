package fuel_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/hermes-supervisor/hermes-supervisor/policies"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/fuel"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/wattest"
)

// instantiate meters wasm with budget and instantiates it in a runtime with
// no termination checks: only the fuel stops it.
func instantiate(t *testing.T, wasm []byte, budget int32) api.Module {
	t.Helper()
	ctx := context.Background()
	metered, err := fuel.Meter(wasm, budget)
	require.NoError(t, err)
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, metered)
	require.NoError(t, err, "the metered module must stay valid")
	return mod
}

func TestMeterBoundsEveryShape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wasm := wattest.Compile(t, "testdata/shapes.wat")
	mod := instantiate(t, wasm, 1000)
	counter := mod.ExportedGlobal(fuel.Export).(api.MutableGlobal)
	assert.Equal(t, uint64(1000), counter.Get(), "the counter starts at the budget")

	cases := []struct {
		fn      string
		n       uint64
		want    uint64
		spent   uint64 // units spent: one per call, one per loop turn
		outOfIt bool
	}{
		{"count", 10, 10, 1 + 11, false},
		{"count", 998, 998, 1 + 999, false},
		{"count", 999, 0, 0, true},
		{"nested", 3, 9, 1 + 3 + 1 + 9, false},
		{"nested", 40, 0, 0, true},
		{"recurse", 999, 999, 1000, false},
		{"recurse", 1000, 0, 0, true},
		{"global", 7, 7, 1, false},
		{"spin", 0, 0, 0, true},
	}
	for _, c := range cases {
		counter.Set(1000)
		res, err := mod.ExportedFunction(c.fn).Call(ctx, c.n)
		if c.outOfIt {
			require.Error(t, err, "%s(%d)", c.fn, c.n)
			assert.Contains(t, err.Error(), "unreachable")
			assert.Zero(t, counter.Get(), "%s(%d): the counter is spent", c.fn, c.n)
			continue
		}
		require.NoError(t, err, "%s(%d)", c.fn, c.n)
		assert.Equal(t, c.want, res[0], "%s(%d)", c.fn, c.n)
		assert.Equal(t, c.spent, 1000-counter.Get(), "%s(%d): units spent", c.fn, c.n)
	}
}

// The embedded default module meters: every instruction it uses is known.
func TestMeterTakesTheDefaultModule(t *testing.T) {
	t.Parallel()
	mod := instantiate(t, policies.Default, 1<<20)
	assert.NotNil(t, mod.ExportedFunction("hermes_decide"))
}

func TestMeterRefuses(t *testing.T) {
	t.Parallel()
	head := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	cases := map[string][]byte{
		"not wasm":  []byte("hello"),
		"truncated": append(head, 10, 20, 1),
		// one function whose body is a SIMD instruction: (v128.const ...)
		"simd": append(head,
			1, 4, 1, 0x60, 0, 0, // type: () -> ()
			3, 2, 1, 0, // function 0 of type 0
			10, 7, 1, 5, 0, 0xfd, 0x0c, 0, 0x0b), // code: truncated v128.const
	}
	for name, b := range cases {
		_, err := fuel.Meter(b, 10)
		assert.True(t, errors.Is(err, fuel.ErrUnsupported), "%s: %v", name, err)
	}
	_, err := fuel.Meter(policies.Default, 0)
	assert.ErrorIs(t, err, fuel.ErrUnsupported, "a budget of 0")
	twice, err := fuel.Meter(policies.Default, 10)
	require.NoError(t, err)
	_, err = fuel.Meter(twice, 10)
	assert.ErrorContains(t, err, "already exports")
}

// The counter starts at the budget, whatever its LEB128 length.
func TestMeterBudgetEncoding(t *testing.T) {
	t.Parallel()
	wasm := wattest.Compile(t, "testdata/shapes.wat")
	for _, budget := range []int32{1, 63, 64, 127, 128, 8191, 8192, 1 << 20, math.MaxInt32} {
		mod := instantiate(t, wasm, budget)
		assert.Equal(t, uint64(budget), mod.ExportedGlobal(fuel.Export).Get(), "budget %d", budget)
	}
}
