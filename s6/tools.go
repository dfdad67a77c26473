package s6

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// CommandDir is where s6-overlay installs the s6 programs.
const CommandDir = "/command"

// Tools runs the s6 programs. The zero value looks them up on PATH, then in
// /command. Safe for concurrent use.
type Tools struct {
	// BinDir, when set, is the only place programs are looked up (the
	// s6_bin_dir setting).
	BinDir string

	mu    sync.Mutex
	found map[string]string
}

// Path returns the absolute path of the s6 program name.
func (t *Tools) Path(name string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.found[name]; ok {
		return p, nil
	}
	p, err := t.lookup(name)
	if err != nil {
		return "", err
	}
	if t.found == nil {
		t.found = map[string]string{}
	}
	t.found[name] = p
	return p, nil
}

func (t *Tools) lookup(name string) (string, error) {
	if t.BinDir != "" {
		p := filepath.Join(t.BinDir, name)
		if isExecutable(p) {
			return filepath.Abs(p)
		}
		return "", fmt.Errorf("s6: %w: %s is not an executable file (check s6_bin_dir)", ErrNoBinary, p)
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	if p := filepath.Join(CommandDir, name); isExecutable(p) {
		return p, nil
	}
	return "", fmt.Errorf("s6: %w: %s is neither on PATH nor in %s; install s6 (Debian: apt-get install s6 execline) or set s6_bin_dir", ErrNoBinary, name, CommandDir)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// run executes an s6 program and returns its standard output. Failures are
// mapped to the package's sentinel errors from the program's diagnostics;
// target is the path the command was about, named in errors.
func (t *Tools) run(ctx context.Context, target, name string, args ...string) ([]byte, error) {
	p, err := t.Path(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("s6: %s %s: %w", name, target, ctx.Err())
	}
	msg := strings.TrimSpace(stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:] // the fatal line comes last; warnings come first
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("s6: %s: %w", name, err)
	}
	return nil, classify(name, target, ee.ExitCode(), msg)
}

// classify turns an s6 program's failure into an error wrapping a sentinel.
func classify(name, target string, code int, msg string) error {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission denied"):
		return fmt.Errorf("s6: %w on %s: run as root or as the gateway user that owns its supervise/ directory (%s)", ErrPermission, target, msg)
	case strings.Contains(low, "supervisor not listening"), strings.Contains(low, "s6-supervise not running"):
		return fmt.Errorf("%w on %s: start s6-svscan (or `supervisor init`) on the scan directory", ErrNotRunning, target)
	case strings.Contains(low, "timed out"), code == 99:
		return fmt.Errorf("s6: %s %s: %w", name, target, ErrTimeout)
	case strings.Contains(low, "no such file or directory"):
		return fmt.Errorf("s6: %w: %s (%s)", ErrNoSlot, target, msg)
	}
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", code)
	}
	return fmt.Errorf("s6: %s %s: %s", name, target, msg)
}
