package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
)

// maxDefaultSize is the size budget of the default module (DESIGN.md section 7).
const maxDefaultSize = 64 << 10

// assemblyScriptModules are the committed modules build.sh makes.
var assemblyScriptModules = map[string]string{
	"default.wasm": "default/default.wasm",
	"always.wasm":  "examples/always/always.wasm",
}

// TestAssemblyScriptModulesReproducible rebuilds every AssemblyScript module
// from source with the pinned compiler and requires the committed bytes.
func TestAssemblyScriptModulesReproducible(t *testing.T) {
	t.Parallel()
	requireCompiler(t)
	var pinned, installed struct {
		Version         string
		DevDependencies map[string]string
	}
	readJSON(t, "package.json", &pinned)
	readJSON(t, "node_modules/assemblyscript/package.json", &installed)
	require.Equal(t, pinned.DevDependencies["assemblyscript"], installed.Version,
		"the installed AssemblyScript compiler is not the pinned one; run: npm ci --prefix policies")
	out := t.TempDir()
	cmd := exec.Command("bash", "build.sh", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "build.sh: %s", msg)
	for name, committed := range assemblyScriptModules {
		want, err := os.ReadFile(committed)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got),
			"%s differs from what its source builds to (%d bytes committed, %d built): run policies/build.sh and commit", committed, len(want), len(got))
	}
}

// TestOneSetOfCompilerFlags holds build.sh, "supervisor policy build" and
// the README to the same asc flags, and the scaffold's pin to the lock's.
func TestOneSetOfCompilerFlags(t *testing.T) {
	t.Parallel()
	sh, err := os.ReadFile("build.sh")
	require.NoError(t, err)
	want := strings.Join(build.AssemblyScriptFlags, " ")
	assert.Contains(t, string(sh), "\nflags=("+want+")\n", "build.sh's flags")
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), "`"+want+"`"), "policies/README.md does not give the flags `%s`", want)
	var pinned struct{ DevDependencies map[string]string }
	readJSON(t, "package.json", &pinned)
	assert.Equal(t, build.AssemblyScriptVersion, pinned.DevDependencies["assemblyscript"])
}

// TestPolicyBuildIsBuildSh builds the shipped AssemblyScript policies the
// way "supervisor policy build" does: the bytes build.sh made.
func TestPolicyBuildIsBuildSh(t *testing.T) {
	t.Parallel()
	requireCompiler(t)
	for dir, committed := range map[string]string{"default": "default/default.wasm", "examples/always": "examples/always/always.wasm"} {
		out := filepath.Join(t.TempDir(), "out.wasm")
		require.NoError(t, build.Build(context.Background(), dir, out))
		want, err := os.ReadFile(committed)
		require.NoError(t, err)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s: policy build makes %d bytes, build.sh %d", dir, len(got), len(want))
	}
}

// requireCompiler fails t, saying what to install, when the pinned
// AssemblyScript compiler cannot run.
func requireCompiler(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("node_modules/assemblyscript/bin/asc.js"); err != nil {
		t.Fatalf("the pinned AssemblyScript compiler is not installed; run: npm ci --prefix policies")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed; on Debian: apt-get install -y nodejs npm, then npm ci --prefix policies")
	}
}

// TestAssemblyScriptSDKCutsReasonOnCharacterBoundary builds a policy whose
// reasons pass the ABI's 256 bytes with a multi-byte character across the
// limit: the SDK keeps whole characters only, so the host accepts them.
func TestAssemblyScriptSDKCutsReasonOnCharacterBoundary(t *testing.T) {
	t.Parallel()
	requireCompiler(t)
	out := filepath.Join(t.TempDir(), "longreason.wasm")
	// The flags of build.sh.
	cmd := exec.Command("node", "node_modules/assemblyscript/bin/asc.js", "testdata/longreason.ts", "-o", out,
		"--runtime", "stub", "--use", "abort=", "-Oz", "--noAssert")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "asc: %s", msg)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)
	m := instantiate(t, wasm)
	for _, c := range []struct {
		kind hostabi.Kind
		want string
	}{
		{hostabi.KindBoot, strings.Repeat("a", 255)},     // "é" (2 bytes) from byte 255 dropped
		{hostabi.KindShutdown, strings.Repeat("a", 254)}, // "€" (3 bytes) from byte 254 dropped
		{hostabi.KindExit, strings.Repeat("a", 253)},     // U+1D11E (4 bytes) from byte 253 dropped
	} {
		d, err := m.call(&hostabi.Input{Kind: c.kind, Profile: "coder"})
		require.NoError(t, err, "%s: the host refused the record", c.kind)
		assert.Equal(t, c.want, d.Reason, "%s", c.kind)
	}
}

func readJSON(t *testing.T, path string, v any) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), path)
}

func TestAssemblyScriptModulesSelfContained(t *testing.T) {
	t.Parallel()
	assert.LessOrEqual(t, len(Default), maxDefaultSize, "the default module outgrew its budget")
	committed, err := os.ReadFile("default/default.wasm")
	require.NoError(t, err)
	assert.Equal(t, committed, Default, "the embedded module is default/default.wasm")
	for _, path := range assemblyScriptModules {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			imports, _, err := build.Interface(b)
			require.NoError(t, err)
			assert.Empty(t, imports, "the module must import nothing")
			require.NoError(t, build.CheckExports(b))
		})
	}
}

func TestDefaultFixturesEmbedded(t *testing.T) {
	t.Parallel()
	b, err := DefaultFixtures.ReadFile("default/fixtures/default.toml")
	require.NoError(t, err)
	assert.Contains(t, string(b), "[[scenario]]")
}
