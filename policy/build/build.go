// Package build turns a policy directory, Go or AssemblyScript, into a
// policy module and writes new ones: Build runs the Go toolchain (GOOS=wasip1
// GOARCH=wasm, a c-shared reactor) or the AssemblyScript compiler (the stub
// runtime, no imports) with reproducible output, and checks that the result
// exports the ABI; Scaffold and ScaffoldAssemblyScript write a new policy
// that builds offline and whose fixtures pass as written; Fresh refuses a
// module file older than the sources beside it.
//
// It imports hostabi and the standard library only; it must not import the
// policy host (package policy) or anything of the supervisor runtime.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Errors Build and Scaffold wrap; check them with errors.Is.
var (
	// ErrNoToolchain: the go command is neither on PATH nor in /usr/local/go/bin.
	ErrNoToolchain = errors.New("go toolchain not found")
	// ErrCompile: the compiler (Go or AssemblyScript) refused the policy.
	ErrCompile = errors.New("compile failed")
	// ErrNotPolicy: the built module lacks an export of ABI 1.0.
	ErrNotPolicy = errors.New("not a policy module")
	// ErrNotEmpty: Scaffold refuses to write into a non-empty directory.
	ErrNotEmpty = errors.New("directory is not empty")
	// ErrNoPolicy: the directory holds no policy source (no go.mod, .go or .ts file).
	ErrNoPolicy = errors.New("no policy source")
	// ErrNoCompiler: node, or the AssemblyScript compiler, is not installed.
	ErrNoCompiler = errors.New("AssemblyScript compiler not found")
	// ErrStale: a module file is older than a source of the policy beside it.
	ErrStale = errors.New("module is older than its sources")
)

// Lang is the language a policy directory is written in.
type Lang string

// The languages Build and the scaffolds know.
const (
	Go             Lang = "go"
	AssemblyScript Lang = "assemblyscript"
)

// Langs lists the languages, as "policy new --lang" takes them.
var Langs = []Lang{Go, AssemblyScript}

// Name is the language's name as prose writes it.
func (l Lang) Name() string {
	if l == AssemblyScript {
		return "AssemblyScript"
	}
	return "Go"
}

// Detect says which language the policy in dir is written in, from the
// files at its top level: Go when it holds a go.mod or a .go file, else
// AssemblyScript when it holds a .ts file; an error wrapping ErrNoPolicy
// when neither.
func Detect(dir string) (Lang, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	ts := false
	for _, e := range entries {
		n := e.Name()
		switch {
		case e.IsDir():
		case n == "go.mod", strings.HasSuffix(n, ".go"):
			return Go, nil
		case strings.HasSuffix(n, ".ts") && !strings.HasSuffix(n, ".d.ts"):
			ts = true
		}
	}
	if ts {
		return AssemblyScript, nil
	}
	return "", fmt.Errorf("build: %s: %w: no go.mod, .go or .ts file (make one with `supervisor policy new DIR`)", dir, ErrNoPolicy)
}

// maxErrorLines is how many lines of compiler output an error carries.
const maxErrorLines = 10

// standardGo is where the official Go distribution installs the go command.
var standardGo = "/usr/local/go/bin/go"

// goCommand finds the go command: PATH first, then the standard install.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if _, err := os.Stat(standardGo); err == nil {
		return standardGo, nil
	}
	return "", ErrNoToolchain
}

// Build compiles the policy in dir into the module out, in the language
// Detect finds. The build is reproducible: the same sources and compiler
// give the same bytes, wherever dir is. out is written only when the module
// checks out (exports the ABI); its directory is made if missing. It
// returns an error naming dir and wrapping ErrNoPolicy, ErrNoToolchain or
// ErrNoCompiler (saying what to install), ErrCompile (with the compiler's
// first lines) or ErrNotPolicy.
//
// A Go policy is a main package importing the guest SDK, built with
// -trimpath, an empty build id, no VCS stamp, CGO_ENABLED=0, no go.work and
// GOTOOLCHAIN=local (nothing is downloaded). An AssemblyScript policy is
// the entry file Entry finds, compiled with AssemblyScriptFlags by the
// compiler installed in a node_modules directory of dir or of a directory
// above it (what "npm ci --prefix DIR" installs from the package.json a
// scaffold writes).
func Build(ctx context.Context, dir, out string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("build: %s is not a directory", dir)
	}
	lang, err := Detect(dir)
	if err != nil {
		return err
	}
	var compile func(ctx context.Context, dir, tmp string) error
	switch lang {
	case AssemblyScript:
		compile, err = assemblyScriptCompiler(dir)
	default:
		compile, err = goCompiler(dir)
	}
	if err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("build: %s: output %s: %w", dir, out, err)
	}
	if st, err := os.Stat(absOut); err == nil && st.IsDir() {
		return fmt.Errorf("build: %s: output %s is a directory, want a file name", dir, out)
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return fmt.Errorf("build: %s: %w", dir, err)
	}
	// Build beside out and rename into place once checked: out is never
	// left holding a broken or half-written module.
	tmp := absOut + ".tmp"
	defer os.Remove(tmp)
	if err := compile(ctx, dir, tmp); err != nil {
		return err
	}
	wasm, err := os.ReadFile(tmp)
	if err != nil {
		return fmt.Errorf("build: %s: %w", dir, err)
	}
	if err := CheckExports(wasm); err != nil {
		return fmt.Errorf("build: %s: %w", dir, err)
	}
	if err := os.Rename(tmp, absOut); err != nil {
		return fmt.Errorf("build: %s: %w", dir, err)
	}
	return nil
}

// goCompiler returns the Go build of dir into a file.
func goCompiler(dir string) (func(ctx context.Context, dir, tmp string) error, error) {
	goBin, err := goCommand()
	if err != nil {
		return nil, fmt.Errorf("build: %s: %w (install Go 1.24 or later, e.g. from https://go.dev/dl, and put it on PATH)", dir, err)
	}
	return func(ctx context.Context, dir, tmp string) error {
		return goBuild(ctx, goBin, dir, tmp)
	}, nil
}

func goBuild(ctx context.Context, goBin, dir, tmp string) error {
	cmd := exec.CommandContext(ctx, goBin, "build",
		"-buildmode=c-shared", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=",
		"-o", tmp, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0",
		"GOTOOLCHAIN=local", "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build: %s: %w", dir, ctx.Err())
		}
		return fmt.Errorf("build: %s: %w (go build):\n%s", dir, ErrCompile, firstLines(stderr.String(), maxErrorLines))
	}
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}

// CheckExports reports, wrapping ErrNotPolicy, an export of ABI 1.0 that the
// module wasm lacks (or has with the wrong kind).
func CheckExports(wasm []byte) error {
	_, exports, err := Interface(wasm)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range exports {
		have[e] = true
	}
	if !have["memory:"+hostabi.ExportMemory] {
		return fmt.Errorf("%w: no exported memory %q", ErrNotPolicy, hostabi.ExportMemory)
	}
	for _, f := range []string{hostabi.ExportABIVersion, hostabi.ExportMetadata, hostabi.ExportAlloc, hostabi.ExportDecide} {
		if !have["func:"+f] {
			return fmt.Errorf("%w: no exported function %s (does the policy import hostabi/guest?)", ErrNotPolicy, f)
		}
	}
	return nil
}
