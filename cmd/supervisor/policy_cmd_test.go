package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
