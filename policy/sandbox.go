package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// sandboxConfig is what a module instance sees of the world: WASI with no
// filesystem, no network (WASI preview 1 has none without preopened
// sockets), no environment, no arguments, no stdin/stdout/stderr, a wall
// clock frozen at the Unix epoch, a deterministic monotonic clock and
// random source, and a sleep that returns at once. The real time reaches a
// policy only as the input's now.
func sandboxConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName("").         // anonymous: a fresh instance may replace a discarded one
		WithStartFunctions(). // reactors: _initialize is run by the host
		WithWalltime(func() (int64, int32) { return 0, 0 }, sys.ClockResolution(1)).
		WithNanosleep(func(int64) {})
}

// instantiateWASI provides wasi_snapshot_preview1 to modules of rt.
func instantiateWASI(ctx context.Context, rt wazero.Runtime) {
	// Instantiating WASI into a fresh runtime cannot fail.
	_, _ = wasi_snapshot_preview1.Instantiate(ctx, rt)
}

type funcSig struct {
	params, results []api.ValueType
}

var i32, i64 = api.ValueTypeI32, api.ValueTypeI64

// requiredExports are the functions of the ABI and their signatures.
var requiredExports = map[string]funcSig{
	hostabi.ExportABIVersion: {nil, []api.ValueType{i32}},
	hostabi.ExportMetadata:   {nil, []api.ValueType{i64}},
	hostabi.ExportAlloc:      {[]api.ValueType{i32}, []api.ValueType{i32}},
	hostabi.ExportDecide:     {[]api.ValueType{i32, i32, i32}, []api.ValueType{i64}},
}

// checkInterface refuses a module that imports anything but WASI preview 1
// or lacks an export of the ABI.
func checkInterface(c wazero.CompiledModule) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != hostabi.WASIModule {
			return fmt.Errorf("%w: function %s.%s (a module may import only %s)", ErrImport, mod, name, hostabi.WASIModule)
		}
	}
	for _, m := range c.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("%w: memory %s.%s (a module must export its own memory)", ErrImport, mod, name)
	}
	if _, ok := c.ExportedMemories()[hostabi.ExportMemory]; !ok {
		return fmt.Errorf("%w: memory %q", ErrExport, hostabi.ExportMemory)
	}
	fns := c.ExportedFunctions()
	names := make([]string, 0, len(requiredExports))
	for n := range requiredExports {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		want := requiredExports[n]
		f, ok := fns[n]
		if !ok {
			return fmt.Errorf("%w: function %q", ErrExport, n)
		}
		if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
			return fmt.Errorf("%w: function %q has type %s, want %s", ErrExport, n,
				sigString(f.ParamTypes(), f.ResultTypes()), sigString(want.params, want.results))
		}
	}
	if f, ok := fns["_initialize"]; ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		return fmt.Errorf("%w: function \"_initialize\" must take and return nothing", ErrExport)
	}
	return nil
}

func sigString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}
