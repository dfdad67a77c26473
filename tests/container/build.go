package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Binaries are the programs built once per test binary.
type Binaries struct {
	Dir        string // holds them; world-readable so the hermes user can run them
	Supervisor string // cmd/supervisor
	Standin    string // cmd/standin-gateway

	supervisorErr error
	standinErr    error
}

var (
	buildOnce sync.Once
	built     Binaries
	buildErr  error
)

// Build compiles cmd/supervisor and cmd/standin-gateway into a temporary
// directory, once per test binary. Call Cleanup from TestMain after the tests
// ran. A program that does not build is remembered: the tests that need it
// fail with the compiler's message, the others still run.
func Build() (Binaries, error) {
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "hermes-e2e-bin-")
		if err != nil {
			buildErr = fmt.Errorf("container: %w", err)
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			buildErr = fmt.Errorf("container: %w", err)
			return
		}
		built.Dir = dir
		built.Supervisor = filepath.Join(dir, "supervisor")
		built.Standin = filepath.Join(dir, "standin-gateway")
		built.supervisorErr = goBuild(root, "./cmd/supervisor", built.Supervisor)
		built.standinErr = goBuild(root, "./cmd/standin-gateway", built.Standin)
	})
	return built, buildErr
}

// Cleanup removes the built binaries.
func Cleanup() {
	if built.Dir != "" {
		os.RemoveAll(built.Dir)
	}
}

// NeedSupervisor reports why the supervisor binary is unusable, or nil.
func (b Binaries) NeedSupervisor() error { return b.supervisorErr }

// NeedStandin reports why the stand-in gateway is unusable, or nil.
func (b Binaries) NeedStandin() error { return b.standinErr }

func goBuild(root, pkg, out string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("container: go build %s: %v: %s", pkg, err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// ModuleRoot finds the directory holding go.mod, walking up from the
// working directory (a test runs in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("container: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("container: no go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	programsMu sync.Mutex
	programs   = map[string]programBuild{}
)

type programBuild struct {
	path string
	err  error
}

// BuildProgram compiles the main package pkg (a path relative to the
// module root, such as "./tests/hostile/attacker") into the binaries'
// directory as name, once per test binary, and returns its path. The
// directory is world-readable: a test may run the program as the hermes
// user. Cleanup removes it with the others.
func BuildProgram(pkg, name string) (string, error) {
	bin, err := Build()
	if err != nil {
		return "", err
	}
	programsMu.Lock()
	defer programsMu.Unlock()
	if b, ok := programs[pkg]; ok {
		return b.path, b.err
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(bin.Dir, name)
	err = goBuild(root, pkg, out)
	programs[pkg] = programBuild{out, err}
	return out, err
}
