// Package wattest compiles WebAssembly text modules for tests with wabt's
// wat2wasm. It is imported by tests only and imports nothing of this
// repository.
package wattest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Compile turns the .wat file at path into wasm bytes. A missing wat2wasm
// fails the test with how to install it.
func Compile(t testing.TB, path string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm not found (the tests build their modules from WebAssembly text): apt-get install -y wabt")
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".wat")+".wasm")
	if b, err := exec.Command(bin, path, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", path, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// File compiles the .wat file at path and writes the module into dir,
// returning the .wasm path.
func File(t testing.TB, path, dir string) string {
	t.Helper()
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".wat")+".wasm")
	if err := os.WriteFile(out, Compile(t, path), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
