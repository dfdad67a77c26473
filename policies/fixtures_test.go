package policies

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

// This file checks the shipped fixture scenarios against the shipped modules
// with a minimal reading of the fixture format (the full runner is
// "supervisor policy test"): a scenario that a module gets wrong here is a
// bug in the module or in the fixture, found before the runner exists.

type fixtureFile struct {
	Policy   string
	Defaults struct {
		Now     time.Time
		Profile string
		Params  map[string]any
	}
	Scenario []struct {
		Name     string
		Decision hostabi.Kind
		Input    fixtureInput
		Expect   fixtureExpect
	}
}

type fixtureInput struct {
	Profile    *string
	Root       *bool
	Trigger    hostabi.Trigger
	Signal     int32
	Phase      hostabi.Phase
	Uptime     time.Duration
	State      hostabi.State
	Desired    hostabi.State
	PriorExit  hostabi.PriorExit `toml:"prior_exit"`
	ExitCode   int32             `toml:"exit_code"`
	StateSince time.Time         `toml:"state_since"`
	// ABI 1.1, boot.
	NoStateFile   bool `toml:"no_state_file"`
	LegacyCommand bool `toml:"legacy_command"`
	Now           *time.Time
	Params        map[string]any
	History       []hostabi.ExitRecord
}

type fixtureExpect struct {
	Action         *hostabi.Action
	State          *hostabi.State
	Desired        *hostabi.State
	ExitCode       *int32 `toml:"exit_code"`
	Delay          *time.Duration
	Reason         *string
	ReasonContains *string `toml:"reason_contains"`
}

func (f *fixtureFile) input(i int) (hostabi.Input, error) {
	s := f.Scenario[i]
	in := hostabi.Input{Kind: s.Decision, Profile: f.Defaults.Profile, Now: f.Defaults.Now,
		Trigger: s.Input.Trigger, Signal: s.Input.Signal, Phase: s.Input.Phase, Uptime: s.Input.Uptime,
		State: s.Input.State, Desired: s.Input.Desired, PriorExit: s.Input.PriorExit, ExitCode: s.Input.ExitCode,
		StateSince: s.Input.StateSince, History: s.Input.History,
		NoStateFile: s.Input.NoStateFile, LegacyCommand: s.Input.LegacyCommand}
	if s.Input.Profile != nil {
		in.Profile = *s.Input.Profile
	}
	in.Root = in.Profile == "default"
	if s.Input.Root != nil {
		in.Root = *s.Input.Root
	}
	if s.Input.Now != nil {
		in.Now = *s.Input.Now
	}
	if in.Now.IsZero() {
		in.Now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	params := map[string]any{}
	for k, v := range f.Defaults.Params {
		params[k] = v
	}
	for k, v := range s.Input.Params {
		params[k] = v
	}
	var err error
	in.Params, err = hostabi.ParamsFromMap(params)
	return in, err
}

// mismatches lists the expected fields d does not match.
func (e *fixtureExpect) mismatches(d hostabi.Decision) []string {
	var out []string
	check := func(field string, ok bool, want, got any) {
		if !ok {
			out = append(out, fmt.Sprintf("%s: want %v, got %v", field, want, got))
		}
	}
	if e.Action != nil {
		check("action", *e.Action == d.Action, *e.Action, d.Action)
	}
	if e.State != nil {
		check("state", *e.State == d.State, *e.State, d.State)
	}
	if e.Desired != nil {
		check("desired", *e.Desired == d.Desired, *e.Desired, d.Desired)
	}
	if e.ExitCode != nil {
		check("exit_code", *e.ExitCode == d.ExitCode, *e.ExitCode, d.ExitCode)
	}
	if e.Delay != nil {
		check("delay", *e.Delay == d.Delay, *e.Delay, d.Delay)
	}
	if e.Reason != nil {
		check("reason", *e.Reason == d.Reason, fmt.Sprintf("%q", *e.Reason), fmt.Sprintf("%q", d.Reason))
	}
	if e.ReasonContains != nil {
		check("reason_contains", strings.Contains(d.Reason, *e.ReasonContains), *e.ReasonContains, d.Reason)
	}
	return out
}

// module runs one policy module in wazero the way the ABI says a host does.
type module struct {
	mod    api.Module
	alloc  api.Function
	decide api.Function
	meta   hostabi.Metadata
	// the input buffer from hermes_alloc, kept for the instance's life
	inPtr, inCap uint32
}

func instantiate(t testing.TB, wasm []byte) *module {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	cm, err := r.CompileModule(ctx, wasm)
	require.NoError(t, err)
	mod, err := r.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	require.NoError(t, err)
	v, err := mod.ExportedFunction(hostabi.ExportABIVersion).Call(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(hostabi.Version(hostabi.VersionMajor, hostabi.VersionMinor)), v[0])
	meta, err := mod.ExportedFunction(hostabi.ExportMetadata).Call(ctx)
	require.NoError(t, err)
	text, ok := mod.Memory().Read(uint32(meta[0]>>32), uint32(meta[0]))
	require.True(t, ok)
	md, err := hostabi.ParseMetadata(text)
	require.NoError(t, err, "metadata %q", text)
	return &module{mod: mod, alloc: mod.ExportedFunction(hostabi.ExportAlloc), decide: mod.ExportedFunction(hostabi.ExportDecide), meta: md}
}

func (m *module) call(in *hostabi.Input) (hostabi.Decision, error) {
	ctx := context.Background()
	rec, err := hostabi.AppendInput(nil, in)
	if err != nil {
		return hostabi.Decision{}, err
	}
	if m.inCap < uint32(len(rec)) {
		n := max(uint32(len(rec)), 4096)
		p, err := m.alloc.Call(ctx, uint64(n))
		if err != nil {
			return hostabi.Decision{}, err
		}
		m.inPtr, m.inCap = uint32(p[0]), n
	}
	if !m.mod.Memory().Write(m.inPtr, rec) {
		return hostabi.Decision{}, fmt.Errorf("alloc returned %#x, outside memory", m.inPtr)
	}
	r, err := m.decide.Call(ctx, uint64(in.Kind), uint64(m.inPtr), uint64(len(rec)))
	if err != nil {
		return hostabi.Decision{}, err
	}
	if int64(r[0]) < 0 {
		return hostabi.Decision{}, fmt.Errorf("module declined: %d", int64(r[0]))
	}
	out, ok := m.mod.Memory().Read(uint32(r[0]>>32), uint32(r[0]))
	if !ok {
		return hostabi.Decision{}, fmt.Errorf("decision %#x outside memory", r[0])
	}
	return hostabi.DecodeDecision(in.Kind, out)
}

func loadFixtures(t *testing.T, path string) *fixtureFile {
	var f fixtureFile
	md, err := toml.DecodeFile(path, &f)
	require.NoError(t, err)
	require.Empty(t, md.Undecoded(), "%s: unknown keys", path)
	require.NotEmpty(t, f.Scenario, "%s: no scenario", path)
	return &f
}

// TestFixtures runs every shipped policy's fixtures through its module and,
// for the default policy, through the native fallback as well.
func TestFixtures(t *testing.T) {
	t.Parallel()
	crashloop := filepath.Join(t.TempDir(), "crashloop.wasm")
	require.NoError(t, build.Build(context.Background(), "examples/crashloop", crashloop))
	modules := map[string]string{
		"default/default.wasm":        "default/default.wasm",
		"examples/always/always.wasm": "examples/always/always.wasm",
		"examples/crashloop":          crashloop,
	}
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || filepath.Ext(path) != ".toml" || filepath.Base(filepath.Dir(path)) != "fixtures" {
			return err
		}
		files++
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			f := loadFixtures(t, path)
			policy := filepath.Clean(filepath.Join(filepath.Dir(path), f.Policy))
			wasmPath, ok := modules[policy]
			require.True(t, ok, "%s: no module known for policy %q", path, f.Policy)
			wasm, err := os.ReadFile(wasmPath)
			require.NoError(t, err)
			m := instantiate(t, wasm)
			names := map[string]bool{}
			for i, s := range f.Scenario {
				require.False(t, names[s.Name], "scenario %q given twice", s.Name)
				names[s.Name] = true
				in, err := f.input(i)
				require.NoError(t, err, s.Name)
				d, err := m.call(&in)
				require.NoError(t, err, s.Name)
				assert.Empty(t, s.Expect.mismatches(d), "module: %s", s.Name)
				if policy == "default/default.wasm" {
					native := fallback.Decide(&in)
					assert.Equal(t, native, d, "fallback and module disagree: %s", s.Name)
					assert.Empty(t, s.Expect.mismatches(native), "fallback: %s", s.Name)
				}
			}
		})
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 4, files, "fixture files found")
}

// TestShippedModulesDeclareParams holds each shipped module to the
// parameters it reads, as its metadata declares them.
func TestShippedModulesDeclareParams(t *testing.T) {
	t.Parallel()
	crashloop := filepath.Join(t.TempDir(), "crashloop.wasm")
	require.NoError(t, build.Build(context.Background(), "examples/crashloop", crashloop))
	defaults := []hostabi.ParamSpec{{Key: fallback.ParamMultiplex, Type: "bool", Default: "false"}, {Key: "bootstrap_state", Type: "string", Default: ""}}
	for path, want := range map[string][]hostabi.ParamSpec{
		"default/default.wasm":        defaults,
		"examples/always/always.wasm": {},
		crashloop:                     append([]hostabi.ParamSpec{{Key: "window", Type: "duration", Default: "10m"}, {Key: "max_crashes", Type: "int", Default: "5"}}, defaults...),
	} {
		wasm, err := os.ReadFile(path)
		require.NoError(t, err)
		m := instantiate(t, wasm)
		assert.True(t, m.meta.DeclaresParams, path)
		assert.Equal(t, want, m.meta.Params, path)
	}
}

// TestScaffoldFixturesPass checks that a new policy from either scaffold
// passes its own fixtures as written.
func TestScaffoldFixturesPass(t *testing.T) {
	t.Parallel()
	requireCompiler(t)
	base := t.TempDir()
	modules, err := filepath.Abs("node_modules")
	require.NoError(t, err)
	require.NoError(t, os.Symlink(modules, filepath.Join(base, "node_modules")))
	for lang, scaffold := range map[string]func(string) error{
		"go":             build.Scaffold,
		"assemblyscript": func(dir string) error { return build.ScaffoldAssemblyScript(dir, AssemblyScriptKit) },
	} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(base, lang, "mine")
			require.NoError(t, scaffold(dir))
			out := filepath.Join(t.TempDir(), "mine.wasm")
			require.NoError(t, build.Build(context.Background(), dir, out))
			wasm, err := os.ReadFile(out)
			require.NoError(t, err)
			m := instantiate(t, wasm)
			assert.Equal(t, "mine", m.meta.Name)
			assert.Equal(t, []hostabi.ParamSpec{{Key: fallback.ParamMultiplex, Type: "bool", Default: "false"}}, m.meta.Params)
			f := loadFixtures(t, filepath.Join(dir, "fixtures", "policy.toml"))
			require.Equal(t, "..", f.Policy)
			for i, s := range f.Scenario {
				in, err := f.input(i)
				require.NoError(t, err, s.Name)
				d, err := m.call(&in)
				require.NoError(t, err, s.Name)
				assert.Empty(t, s.Expect.mismatches(d), s.Name)
			}
		})
	}
}

// TestAssemblyScriptMemoryStaysFlat makes many decisions on one instance:
// the SDK releases each decision's memory at the next, so memory never grows.
func TestAssemblyScriptMemoryStaysFlat(t *testing.T) {
	t.Parallel()
	for _, path := range assemblyScriptModules {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			wasm, err := os.ReadFile(path)
			require.NoError(t, err)
			m := instantiate(t, wasm)
			in := hostabi.Input{Kind: hostabi.KindExit, Profile: "coder", ExitCode: 3, Now: time.Unix(1e9, 0),
				History: make([]hostabi.ExitRecord, hostabi.MaxHistory),
				Params:  hostabi.Params{{Key: "multiplex_profiles", Type: hostabi.ParamBool, Bool: true}}}
			var size uint32
			for i := range 5000 {
				in.Kind = hostabi.Kind(i%3 + 1)
				_, err := m.call(&in)
				require.NoError(t, err)
				if i == 100 {
					size = m.mod.Memory().Size()
				}
			}
			assert.Equal(t, size, m.mod.Memory().Size(), "memory grew over 5000 decisions")
		})
	}
}

// BenchmarkDecision measures one decision on a warm instance of each
// shipped module, through the raw ABI (no host limits or logging).
func BenchmarkDecision(b *testing.B) {
	crashloop := filepath.Join(b.TempDir(), "crashloop.wasm")
	if err := build.Build(context.Background(), "examples/crashloop", crashloop); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	in := hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "coder", ExitCode: 1, Uptime: time.Minute,
		History: []hostabi.ExitRecord{
			{Time: now.Add(-2 * time.Minute), Uptime: time.Second, ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart},
			{Time: now.Add(-time.Minute), Uptime: time.Second, ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart},
		}}
	for _, path := range []string{"default/default.wasm", "examples/always/always.wasm", crashloop} {
		wasm, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			m := instantiate(b, wasm)
			for b.Loop() {
				if _, err := m.call(&in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
