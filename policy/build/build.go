// Package build turns a Go policy directory into a policy module and writes
// new ones: Build runs the Go toolchain with the flags a policy needs
// (GOOS=wasip1 GOARCH=wasm, a c-shared reactor, reproducible output) and
// checks the result exports ABI 1.0; Scaffold writes a new policy that builds
// offline and whose fixtures pass as written.
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
	// ErrCompile: the Go compiler refused the policy.
	ErrCompile = errors.New("go build failed")
	// ErrNotPolicy: the built module lacks an export of ABI 1.0.
	ErrNotPolicy = errors.New("not a policy module")
	// ErrNotEmpty: Scaffold refuses to write into a non-empty directory.
	ErrNotEmpty = errors.New("directory is not empty")
)

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

// Build compiles the Go policy in dir (a main package importing the guest
// SDK) into the module out. The build is reproducible: the same sources and
// toolchain give the same bytes, wherever dir is (-trimpath, an empty build
// id, no VCS stamp, CGO_ENABLED=0, no go.work, GOTOOLCHAIN=local so nothing
// is downloaded). out is written only when the module checks out; its
// directory is made if missing. It returns an error naming dir and wrapping
// ErrNoToolchain, ErrCompile (with the compiler's first lines) or
// ErrNotPolicy.
func Build(ctx context.Context, dir, out string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("build: %s is not a directory", dir)
	}
	goBin, err := goCommand()
	if err != nil {
		return fmt.Errorf("build: %s: %w (install Go 1.24 or later, e.g. from https://go.dev/dl, and put it on PATH)", dir, err)
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
		return fmt.Errorf("build: %s: %w:\n%s", dir, ErrCompile, firstLines(stderr.String(), maxErrorLines))
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
