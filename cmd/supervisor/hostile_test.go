package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// Hostile input on the volume, through the command line. Every case: one
// clear line naming the culprit, nothing written outside the home and the
// scan directory, no hang (each command runs under a deadline), and the
// healthy profile beside it still boots.

// cliWithin runs the supervisor like cli, killed after the deadline.
func (e *env) cliWithin(deadline time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--config", e.config}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("supervisor %q hung: killed after %s; stderr: %s", args, deadline, stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run %q: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// tree lists every path under dir with its size and mode (no content read).
func tree(t *testing.T, dir string) []string {
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		out = append(out, p+" "+fi.Mode().String()+" "+fi.ModTime().String())
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}

func TestHostileProfileNames(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Dir(e.home)
	e.ok(0, "profile", "create", "good")
	before := tree(t, outside)
	names := map[string]string{
		"dot-dot":       "..",
		"dot-dot-slash": "../escape",
		"slash":         "a/b",
		"absolute":      "/tmp/x",
		"unicode":       "café",
		"emoji":         "\U0001F600",
		"upper":         "Coder",
		"300 bytes":     strings.Repeat("a", 300),
		"leading dash":  "-rf",
		"hidden":        ".hidden",
		"space":         "a b",
		"newline":       "a\nb",
	}
	for label, name := range names {
		t.Run(label, func(t *testing.T) {
			for _, args := range [][]string{
				{"profile", "create", name},
				{"-p", name, "gateway", "status"},
				{"-p", name, "gateway", "start"},
				{"profile", "delete", name},
			} {
				r := e.cliWithin(30*time.Second, args...)
				assert.NotEqual(t, 0, r.code, "%q accepted: %s", args, r.stdout)
				msg := strings.TrimRight(r.stderr, "\n")
				assert.NotContains(t, msg, "\n", "%q: not one line: %s", args, r.stderr)
				assert.NotContains(t, msg, "goroutine", "%q: a stack trace", args)
				assert.True(t, strings.Contains(msg, "profile") || strings.Contains(msg, name), "%q: the message names neither the profile nor the value: %s", args, msg)
			}
		})
	}
	// NUL cannot reach a command line (argv is NUL-terminated): exec refuses it.
	err := exec.Command(binary, "--config", e.config, "profile", "create", "a\x00b").Run()
	assert.Error(t, err, "exec must refuse a NUL in an argument")
	assert.Equal(t, before, tree(t, outside), "a refused name changed the disk")
	assert.Equal(t, []string{"good"}, profileList(t, e))
}

func profileList(t *testing.T, e *env) []string {
	r := e.ok(0, "profile", "list")
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return names
}

// hostileState makes profile bad's state file hostile; outside is a
// directory outside the home the case may point at.
func TestHostileStateFiles(t *testing.T) {
	cases := []struct {
		name string
		make func(t *testing.T, path, outside string)
		want string // in the boot warning
	}{
		{"symlink outside the home", func(t *testing.T, p, outside string) {
			target := filepath.Join(outside, "victim.json")
			require.NoError(t, os.WriteFile(target, []byte(`{"gateway_state":"running"}`), 0o644))
			require.NoError(t, os.Symlink(target, p))
		}, "symlink"},
		{"directory", func(t *testing.T, p, _ string) { require.NoError(t, os.Mkdir(p, 0o755)) }, "directory"},
		{"FIFO", func(t *testing.T, p, _ string) { require.NoError(t, syscall.Mkfifo(p, 0o644)) }, "FIFO"},
		{"100 MB", func(t *testing.T, p, _ string) {
			f, err := os.Create(p)
			require.NoError(t, err)
			_, err = f.WriteString(`{"gateway_state":"running","pad":"`)
			require.NoError(t, err)
			require.NoError(t, f.Truncate(100<<20))
			require.NoError(t, f.Close())
		}, "bytes"},
		{"binary", func(t *testing.T, p, _ string) {
			b := make([]byte, 4096)
			for i := range b {
				b[i] = byte(i * 7)
			}
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}, "not a JSON object"},
		{"nested 10000 deep", func(t *testing.T, p, _ string) {
			data := `{"gateway_state":"running","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}"
			require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		}, "not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			outside := filepath.Join(filepath.Dir(e.home), "outside")
			require.NoError(t, os.Mkdir(outside, 0o755))
			e.ok(0, "profile", "create", "good")
			e.ok(0, "profile", "create", "bad")
			require.NoError(t, os.WriteFile(e.paths("good").State, []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
			c.make(t, e.paths("bad").State, outside)
			before := tree(t, outside)

			r := e.cliWithin(60*time.Second, "boot")
			require.Equal(t, 0, r.code, "boot failed: %s", r.stderr)
			var warning string
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, e.paths("bad").State) {
					warning = l
				}
			}
			assert.Contains(t, warning, c.want, "no warning naming the bad state file: %s", r.stderr)
			assert.NotContains(t, r.stderr, "goroutine")
			// The healthy profile booted; the bad one stays down.
			assert.NoFileExists(t, filepath.Join(e.scandir, "gateway-good", "down"))
			assert.FileExists(t, filepath.Join(e.scandir, "gateway-bad", "down"), "an unreadable state must not start a gateway")
			assert.Equal(t, before, tree(t, outside), "boot wrote outside the home")

			// The operator commands say what is wrong too, within a deadline.
			st := e.cliWithin(30*time.Second, "-p", "bad", "gateway", "status")
			assert.NotContains(t, st.stderr, "goroutine")
			// Writing a new state replaces the hostile file itself, never its target.
			if c.name == "symlink outside the home" {
				_, _ = state.Set(e.paths("bad").State, state.Change{Desired: hostabi.StateStopped}, time.Now())
				data, err := os.ReadFile(filepath.Join(outside, "victim.json"))
				require.NoError(t, err)
				assert.Equal(t, `{"gateway_state":"running"}`, string(data), "the symlink's target was written")
			}
		})
	}
}

// TestSymlinkedProfileDir: profiles/evil is a symlink to a directory
// elsewhere holding a profile.toml and a running state. Boot names it,
// writes nothing there, and boots the others.
func TestSymlinkedProfileDir(t *testing.T) {
	e := newEnv(t)
	elsewhere := filepath.Join(filepath.Dir(e.home), "elsewhere")
	require.NoError(t, os.Mkdir(elsewhere, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "profile.toml"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "gateway_state.json"), []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "gateway.pid"), []byte("1\n"), 0o644))
	e.ok(0, "profile", "create", "good")
	require.NoError(t, os.WriteFile(e.paths("good").State, []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(e.home, "profiles", "evil")))
	before := tree(t, elsewhere)

	r := e.cliWithin(60*time.Second, "boot")
	require.Equal(t, 0, r.code, "boot failed: %s", r.stderr)
	assert.Contains(t, r.stderr, "evil", "boot does not name the symlinked profile: %s", r.stderr)
	assert.NoFileExists(t, filepath.Join(e.scandir, "gateway-good", "down"))
	if fi, err := os.Stat(filepath.Join(e.scandir, "gateway-evil")); err == nil && fi.IsDir() {
		assert.FileExists(t, filepath.Join(e.scandir, "gateway-evil", "down"), "a symlinked profile must not be started")
	}
	assert.Equal(t, before, tree(t, elsewhere), "boot wrote through the symlink")
}
