package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/policies"
)

// linkCompiler makes the pinned compiler of policies/node_modules the one
// found for policies under dir (node_modules in a directory above them),
// failing t, saying what to install, when it is not installed.
func linkCompiler(t *testing.T, dir string) {
	t.Helper()
	modules, err := filepath.Abs(filepath.Join("..", "..", "policies", "node_modules"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(modules, "assemblyscript", "bin", "asc.js")); err != nil {
		t.Fatalf("the pinned AssemblyScript compiler is not installed; run: npm ci --prefix policies")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed; on Debian: apt-get install -y nodejs npm, then npm ci --prefix policies")
	}
	require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
}

func TestDetect(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	for name, files := range map[string][]string{
		"go":    {"main.go"},
		"gomod": {"go.mod"},
		"ts":    {"policy.ts"},
		"both":  {"main.go", "policy.ts"},
		"dts":   {"types.d.ts"},
		"none":  {"README.md"},
	} {
		dir := filepath.Join(base, name)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub.go"), 0o755), "a directory named like a source is none")
		for _, f := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
		}
	}
	for name, want := range map[string]Lang{"go": Go, "gomod": Go, "ts": AssemblyScript, "both": Go} {
		got, err := Detect(filepath.Join(base, name))
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	for _, name := range []string{"dts", "none"} {
		_, err := Detect(filepath.Join(base, name))
		assert.ErrorIs(t, err, ErrNoPolicy, name)
		assert.ErrorContains(t, err, "no go.mod, .go or .ts file")
	}
}

func TestEntry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dir   string
		files []string
		want  string // "" = an error
	}{
		{"one", []string{"mine.ts", "types.d.ts"}, "mine.ts"},
		{"named", []string{"helpers.ts", "policy.ts"}, "policy.ts"},
		{"always", []string{"always.ts", "helpers.ts"}, "always.ts"},
		{"index", []string{"helpers.ts", "index.ts"}, "index.ts"},
		{"many", []string{"a.ts", "b.ts"}, ""},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), c.dir)
		require.NoError(t, os.Mkdir(dir, 0o755))
		for _, f := range c.files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
		}
		got, err := Entry(dir)
		if c.want == "" {
			assert.ErrorContains(t, err, "several .ts files (a.ts, b.ts) and none named policy.ts")
			continue
		}
		require.NoError(t, err, c.dir)
		assert.Equal(t, c.want, got, c.dir)
	}
}

// TestAssemblyScriptScaffoldBuildsReproducibly writes two AssemblyScript
// scaffolds in different directories, builds both with the pinned
// compiler, and requires a module that imports nothing, the same bytes,
// and the policy named after its directory.
func TestAssemblyScriptScaffoldBuildsReproducibly(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	linkCompiler(t, base)
	var mods [][]byte
	for _, rel := range []string{"mine", filepath.Join("deeper", "still", "mine")} {
		dir := filepath.Join(base, rel)
		require.NoError(t, ScaffoldAssemblyScript(dir, policies.AssemblyScriptKit))
		for _, f := range []string{"policy.ts", "package.json", "package-lock.json", ".gitignore", "fixtures/policy.toml", ".hermes-sdk/assemblyscript/index.ts"} {
			assert.FileExists(t, filepath.Join(dir, f))
		}
		src, err := os.ReadFile(filepath.Join(dir, "policy.ts"))
		require.NoError(t, err)
		assert.Contains(t, string(src), `policy("mine", "0.1.0", boot, shutdown, exit, "multiplex_profiles:bool:false");`)
		assert.Contains(t, string(src), `from "./.hermes-sdk/assemblyscript"`, "the SDK is the scaffold's own copy")
		pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
		require.NoError(t, err)
		assert.Contains(t, string(pkg), `"assemblyscript": "`+AssemblyScriptVersion+`"`)

		out := filepath.Join(base, "out", strings.ReplaceAll(rel, "/", "-")+".wasm")
		require.NoError(t, Build(context.Background(), dir, out))
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		require.NoError(t, CheckExports(b))
		imports, _, err := Interface(b)
		require.NoError(t, err)
		assert.Empty(t, imports, "an AssemblyScript policy imports nothing")
		mods = append(mods, b)
	}
	assert.True(t, bytes.Equal(mods[0], mods[1]), "two builds of the same source differ")
}

func TestAssemblyScriptBuildErrors(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	linkCompiler(t, base)
	dir := filepath.Join(base, "broken")
	require.NoError(t, ScaffoldAssemblyScript(dir, policies.AssemblyScriptKit))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "policy.ts"), []byte("let x: i32 = undefinedThing();\n"), 0o644))
	out := filepath.Join(base, "out.wasm")
	err := Build(context.Background(), dir, out)
	require.ErrorIs(t, err, ErrCompile)
	assert.Contains(t, err.Error(), "asc policy.ts")
	assert.Contains(t, err.Error(), "undefinedThing")
	assert.NoFileExists(t, out)

	notPolicy := filepath.Join(base, "plain")
	require.NoError(t, os.Mkdir(notPolicy, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(notPolicy, "plain.ts"), []byte("export function f(): i32 { return 1; }\n"), 0o644))
	err = Build(context.Background(), notPolicy, out)
	require.ErrorIs(t, err, ErrNotPolicy)
	assert.NoFileExists(t, out)
}

// Without the compiler, the build says in one line what to install.
func TestAssemblyScriptWithoutCompiler(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	if _, ok := findCompiler(base); ok {
		t.Fatalf("a compiler is installed above %s: this test needs a directory without one", base)
	}
	dir := filepath.Join(base, "my policy")
	require.NoError(t, ScaffoldAssemblyScript(dir, policies.AssemblyScriptKit))
	err := Build(context.Background(), dir, filepath.Join(base, "out.wasm"))
	require.ErrorIs(t, err, ErrNoCompiler)
	assert.NotContains(t, err.Error(), "\n")
	assert.Contains(t, err.Error(), "install it: npm ci --prefix '"+dir+"'", "a command that works as printed")

	bare := filepath.Join(base, "bare")
	require.NoError(t, os.Mkdir(bare, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bare, "bare.ts"), nil, 0o644))
	err = Build(context.Background(), bare, filepath.Join(base, "out.wasm"))
	assert.ErrorContains(t, err, "npm install --prefix "+bare+" --save-dev --save-exact assemblyscript@"+AssemblyScriptVersion)
}

func TestAssemblyScriptWithoutNode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mine")
	require.NoError(t, ScaffoldAssemblyScript(dir, policies.AssemblyScriptKit))
	t.Setenv("PATH", t.TempDir())
	err := Build(context.Background(), dir, filepath.Join(t.TempDir(), "out.wasm"))
	require.ErrorIs(t, err, ErrNoCompiler)
	assert.Contains(t, err.Error(), "node is not installed; install Node.js 20 or later (e.g. apt-get install -y nodejs npm), then run npm ci --prefix "+dir)
}

func TestFresh(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mine")
	require.NoError(t, ScaffoldAssemblyScript(dir, policies.AssemblyScriptKit))
	module := filepath.Join(dir, "mine.wasm")
	require.NoError(t, os.WriteFile(module, []byte("\x00asm"), 0o644))
	past := time.Now().Add(-time.Hour)
	set := func(p string, t0 time.Time) { require.NoError(t, os.Chtimes(p, t0, t0)) }
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			set(p, past)
		}
		return err
	})
	require.NoError(t, err)
	set(module, past.Add(time.Minute))
	assert.NoError(t, Fresh(module), "built after every source")

	set(filepath.Join(dir, "fixtures", "policy.toml"), past.Add(time.Hour))
	assert.NoError(t, Fresh(module), "a fixture is no source")

	sdk := filepath.Join(dir, ".hermes-sdk", "assemblyscript", "index.ts")
	set(sdk, past.Add(2*time.Minute))
	err = Fresh(module)
	require.ErrorIs(t, err, ErrStale, "the scaffold's SDK is a source")
	assert.Contains(t, err.Error(), sdk+" changed after it was built; rebuild it with `supervisor policy build "+dir+" --write "+module+"`")
	set(module, past.Add(3*time.Minute))
	assert.NoError(t, Fresh(module))

	set(filepath.Join(dir, "policy.ts"), past.Add(4*time.Minute))
	assert.True(t, errors.Is(Fresh(module), ErrStale))

	elsewhere := filepath.Join(t.TempDir(), "x.wasm")
	require.NoError(t, os.WriteFile(elsewhere, nil, 0o644))
	assert.NoError(t, Fresh(elsewhere), "no policy beside it")
	assert.NoError(t, Fresh(filepath.Join(dir, "missing.wasm")), "whoever opens it says it is missing")
}
