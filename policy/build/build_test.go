package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScaffoldBuildsReproducibly writes two scaffolds in different
// directories, builds both, and requires ABI exports and identical bytes.
func TestScaffoldBuildsReproducibly(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	var mods [][]byte
	for _, name := range []string{"mine", filepath.Join("elsewhere", "two", "mine")} {
		dir := filepath.Join(base, name)
		require.NoError(t, Scaffold(dir))
		for _, f := range []string{"main.go", "go.mod", "fixtures/policy.toml", ".hermes-sdk/go.mod", ".hermes-sdk/hostabi/doc.go", ".hermes-sdk/hostabi/guest/exports.go"} {
			assert.FileExists(t, filepath.Join(dir, f))
		}
		assert.NoFileExists(t, filepath.Join(dir, ".hermes-sdk/hostabi/guest/guest_test.go"))
		src, err := os.ReadFile(filepath.Join(dir, "main.go"))
		require.NoError(t, err)
		assert.Contains(t, string(src), `guest.Policy{Name: "mine",`, "named after its directory")
		out := filepath.Join(base, "out", strings.ReplaceAll(name, "/", "-")+".wasm")
		require.NoError(t, Build(context.Background(), dir, out))
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		require.NoError(t, CheckExports(b))
		imports, exports, err := Interface(b)
		require.NoError(t, err)
		assert.Contains(t, exports, "func:_initialize", "a Go policy is a WASI reactor")
		for _, imp := range imports {
			assert.True(t, strings.HasPrefix(imp, "wasi_snapshot_preview1."), "import %s", imp)
		}
		mods = append(mods, b)
	}
	assert.True(t, bytes.Equal(mods[0], mods[1]), "two builds of the same source differ")
}

func TestScaffoldNamesAfterDirWhenValid(t *testing.T) {
	t.Parallel()
	for dir, want := range map[string]string{"crash-limits": `Name: "crash-limits"`, "My Policy": `Name: "my-policy"`} {
		p := filepath.Join(t.TempDir(), dir)
		require.NoError(t, Scaffold(p))
		src, err := os.ReadFile(filepath.Join(p, "main.go"))
		require.NoError(t, err)
		assert.Contains(t, string(src), want, dir)
	}
}

func TestScaffoldRefusesNonEmptyDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644))
	err := Scaffold(dir)
	require.ErrorIs(t, err, ErrNotEmpty)
	assert.Contains(t, err.Error(), dir)
	b, _ := os.ReadFile(filepath.Join(dir, "keep.txt"))
	assert.Equal(t, "mine", string(b))
	assert.NoFileExists(t, filepath.Join(dir, "main.go"))
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	broken := t.TempDir()
	require.NoError(t, Scaffold(broken))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644))

	notPolicy := t.TempDir()
	require.NoError(t, Scaffold(notPolicy))
	require.NoError(t, os.WriteFile(filepath.Join(notPolicy, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))

	cases := []struct {
		name string
		dir  string
		is   error
		want []string
	}{
		{"compile error", broken, ErrCompile, []string{broken, "undefined: undefinedThing"}},
		{"no sdk", notPolicy, ErrNotPolicy, []string{notPolicy, "hermes_abi_version"}},
		{"missing dir", filepath.Join(broken, "nope"), nil, []string{"nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.wasm")
			err := Build(context.Background(), c.dir, out)
			require.Error(t, err)
			assert.NoFileExists(t, out, "a failed build leaves no module behind")
			assert.NoFileExists(t, out+".tmp")
			if c.is != nil {
				assert.True(t, errors.Is(err, c.is), "%v is not %v", err, c.is)
			}
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestBuildWithoutToolchain(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Scaffold(dir))
	t.Setenv("PATH", t.TempDir())
	saved := standardGo
	standardGo = filepath.Join(t.TempDir(), "go")
	t.Cleanup(func() { standardGo = saved })
	err := Build(context.Background(), dir, filepath.Join(t.TempDir(), "out.wasm"))
	require.ErrorIs(t, err, ErrNoToolchain)
	assert.Contains(t, err.Error(), dir)
}

func TestInterfaceRefusesGarbage(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello world"),
		"truncated": {0, 'a', 's', 'm', 1, 0, 0, 0, 7, 10, 1},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Interface(b)
			require.ErrorIs(t, err, ErrNotWasm)
		})
	}
}
