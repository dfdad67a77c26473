package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wat compiles a WebAssembly text module of policy/testdata into dir.
func wat(t *testing.T, rel, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm not found (the tests build their modules from WebAssembly text): apt-get install -y wabt")
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(rel), ".wat")+".wasm")
	if b, err := exec.Command("wat2wasm", filepath.Join("..", "..", "policy", "testdata", rel), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", rel, err, b)
	}
	return out
}

// policyWorkspace lays out dir/mimic.wasm and dir/fixtures/x.toml.
func policyWorkspace(t *testing.T, fixture string) string {
	t.Helper()
	dir := t.TempDir()
	wat(t, "modules/mimic.wat", dir)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "fixtures"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fixtures", "x.toml"), []byte(fixture), 0o644))
	return dir
}

const passing = `policy = "../mimic.wasm"
[[scenario]]
name = "exit 78 stops"
decision = "exit"
[scenario.input]
exit_code = 78
[scenario.expect]
action = "stop"
`

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &ioStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}, args)
	return code, out.String(), errb.String()
}

func TestPolicyTestExitCodes(t *testing.T) {
	failing := strings.Replace(passing, `action = "stop"`, `action = "restart"`, 1)
	cases := []struct {
		name    string
		fixture string
		args    []string
		code    int
		stdout  string
		stderr  string
	}{
		{name: "all pass", fixture: passing, code: 0, stdout: "PASS: 1 scenarios: 1 passed, 0 failed, 0 errors"},
		{name: "a failure", fixture: failing, code: 1, stdout: "action: expected restart, got stop"},
		{name: "unknown key", fixture: passing + "colour = 1\n", code: 2, stderr: `x.toml: unknown key "scenario.expect.colour"`},
		{name: "no scenario", fixture: "# nothing\n", code: 2, stderr: "no scenario found"},
		{name: "bad output", fixture: passing, args: []string{"--output", "yaml"}, code: 2, stderr: `invalid argument "yaml" for "-o, --output" flag: want table, json or junit`},
		{name: "json", fixture: passing, args: []string{"--output", "json"}, code: 0, stdout: `"outcome": "pass"`},
		{name: "junit", fixture: failing, args: []string{"-o", "junit"}, code: 1, stdout: `<failure message="unexpected decision">`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := policyWorkspace(t, c.fixture)
			args := append([]string{"policy", "test", "--cache-dir", ""}, c.args...)
			code, stdout, stderr := runCmd(t, append(args, dir)...)
			assert.Equal(t, c.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stdout, c.stdout)
			assert.Contains(t, stderr, c.stderr)
		})
	}
	code, _, stderr := runCmd(t, "policy", "test")
	assert.Equal(t, 2, code, "no PATH is a usage error")
	assert.Contains(t, stderr, "supervisor policy test: missing argument PATH (usage: supervisor policy test")
}

func TestPolicyTestOverride(t *testing.T) {
	dir := policyWorkspace(t, strings.Replace(passing, `policy = "../mimic.wasm"`, `policy = "../missing.wasm"`, 1))
	code, _, stderr := runCmd(t, "policy", "test", "--cache-dir", "", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "missing.wasm")
	code, stdout, _ := runCmd(t, "policy", "test", "--cache-dir", "", "--policy", filepath.Join(dir, "mimic.wasm"), dir)
	assert.Equal(t, 0, code, stdout)
}

func TestPolicyInspect(t *testing.T) {
	dir := policyWorkspace(t, passing)
	code, stdout, stderr := runCmd(t, "policy", "inspect", filepath.Join(dir, "mimic.wasm"))
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{"abi        1.1", "name       mimic", "decisions  boot, shutdown, exit", "hermes_decide (i32, i32, i32) -> (i64)", "imports    (none)", "status     ok", "sha256     "} {
		assert.Contains(t, stdout, want)
	}

	bad := wat(t, "hostile/hostimport.wat", dir)
	code, stdout, stderr = runCmd(t, "policy", "inspect", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "env.now")
	assert.Contains(t, stderr, "forbidden import")

	code, _, stderr = runCmd(t, "policy", "inspect", filepath.Join(dir, "nope.wasm"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "nope.wasm")
}

func TestPolicyBuildUsage(t *testing.T) {
	code, _, stderr := runCmd(t, "policy", "build", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "missing --write FILE")
	code, _, stderr = runCmd(t, "policy", "build", t.TempDir(), "-o", "x.wasm")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "write the file with --write x.wasm")
}

// linkCompiler makes the pinned AssemblyScript compiler (policies/node_modules)
// the one found for policies under dir.
func linkCompiler(t *testing.T, dir string) {
	t.Helper()
	modules, err := filepath.Abs(filepath.Join("..", "..", "policies", "node_modules"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(modules, "assemblyscript", "bin", "asc.js")); err != nil {
		t.Fatalf("the pinned AssemblyScript compiler is not installed; run: npm ci --prefix policies")
	}
	require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
}

// edit replaces old by new in the file p, which must hold it.
func edit(t *testing.T, p, old, new string) {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// "Leave a function nil to keep the supervisor's default": the scaffold's
// own fixtures still pass, those of the decision left out checked against
// the default and said so; in both languages.
func TestPolicyScaffoldLeaveADecisionToTheDefault(t *testing.T) {
	base := t.TempDir()
	linkCompiler(t, base)
	cases := []struct {
		lang, file, old, new string
	}{
		{"go", "main.go", "Shutdown: shutdown,", "Shutdown: nil,"},
		{"assemblyscript", "policy.ts", "boot, shutdown, exit,", "boot, null, exit,"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			dir := filepath.Join(base, c.lang, "mine")
			code, _, stderr := runCmd(t, "policy", "new", "--lang", c.lang, dir)
			require.Equal(t, 0, code, stderr)
			code, stdout, stderr := runCmd(t, "policy", "test", "--cache-dir", "", dir)
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Equal(t, "PASS: 6 scenarios: 6 passed, 0 failed, 0 errors\n", stdout)

			edit(t, filepath.Join(dir, c.file), c.old, c.new)
			code, stdout, stderr = runCmd(t, "policy", "test", "--cache-dir", "", dir)
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Equal(t, "PASS: 6 scenarios: 6 passed, 0 failed, 0 errors; 2 decided by the supervisor's default, as in production (decisions the module does not make or declined)\n", stdout)
			code, stdout, _ = runCmd(t, "policy", "test", "--cache-dir", "", "-v", "--run", "operator stop", dir)
			require.Equal(t, 0, code)
			assert.Regexp(t, `^PASS  \S+policy.toml: an operator stop persists stopped \(shutdown, mine@[0-9a-f]{8}: decided by the supervisor's default: module mine@[0-9a-f]{8} does not make shutdown decisions\)\nPASS: 1 scenarios`, stdout)
		})
	}
}

// The AssemblyScript path from scaffold to inspect, as policies/README.md
// walks it, and a module file that is older than its sources.
func TestPolicyAssemblyScriptPath(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "mine")
	code, _, stderr := runCmd(t, "policy", "new", "--lang", "assemblyscript", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "install its compiler with `npm ci --prefix "+dir+"`")

	code, _, stderr = runCmd(t, "policy", "test", "--cache-dir", "", dir)
	assert.Equal(t, 2, code)
	assert.Equal(t, "supervisor: policy test: "+filepath.Join(dir, "fixtures", "policy.toml")+": "+dir+
		": AssemblyScript compiler not found in "+filepath.Join(dir, "node_modules")+" or a directory above it; install it: npm ci --prefix "+dir+"\n", stderr,
		"one line saying what to install")

	linkCompiler(t, base)
	code, stdout, stderr := runCmd(t, "policy", "test", "--cache-dir", "", dir)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	module := filepath.Join(dir, "mine.wasm")
	code, _, stderr = runCmd(t, "policy", "build", dir, "--write", module)
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr = runCmd(t, "policy", "inspect", module)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "name       mine\n")
	assert.Contains(t, stdout, "params     multiplex_profiles (bool, default false)\n")
	assert.Contains(t, stdout, "imports    (none)\n")

	// A fixture file naming the module file: tested as long as it is
	// newer than the sources beside it.
	incident := filepath.Join(dir, "fixtures", "incident.toml")
	require.NoError(t, os.WriteFile(incident, []byte(strings.Replace(passing, "../mimic.wasm", "../mine.wasm", 1)), 0o644))
	code, stdout, stderr = runCmd(t, "policy", "test", "--cache-dir", "", incident)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	later := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "policy.ts"), later, later))
	code, _, stderr = runCmd(t, "policy", "test", "--cache-dir", "", incident)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, module+": module is older than its sources: "+filepath.Join(dir, "policy.ts")+" changed after it was built; rebuild it with `supervisor policy build "+dir+" --write "+module+"`")
	code, stdout, stderr = runCmd(t, "policy", "test", "--cache-dir", "", "--policy", dir, incident)
	assert.Equal(t, 0, code, "the sources themselves: stdout: %s\nstderr: %s", stdout, stderr)
}
