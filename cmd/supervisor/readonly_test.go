package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// A read-only volume at boot. The directory is made read-only by a bind
// mount remounted read-only inside a private mount namespace (unshare) that
// only the supervisor under test lives in: the mount dies with it, nothing
// is left mounted, and the test's own view stays writable.
//
// "Booting wrongly" would be publishing a slot whose gateway s6 would
// start, or recording anything, for a profile whose state cannot be
// written: that gateway could not record the shutdown decision that must
// survive a restart. So a read-only volume boots nothing (no slot, no
// registrar, exit 1, one line naming the volume), and a read-only profile
// directory skips that profile (logged in the boot log, named on stderr)
// while the others boot.

// bootReadOnly runs `supervisor boot` with dir mounted read-only in a
// private mount namespace, under a deadline.
func (e *env) bootReadOnly(dir string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The script proves the directory is read-only (a write must fail)
	// before it execs the supervisor; exit 99 says it was not.
	script := `d=$1; shift
mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 98
if touch "$d/.writable-probe" 2>/dev/null; then exit 99; fi
exec "$@"`
	args := []string{"--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", dir, binary, "--config", e.config, "boot"}
	if _, err := exec.LookPath("unshare"); err != nil {
		e.t.Fatal("unshare not found: apt-get install -y util-linux")
	}
	cmd := exec.CommandContext(ctx, "unshare", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("boot on a read-only %s hung; stderr: %s", dir, stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("unshare: %v", err)
	}
	require.NotEqual(e.t, 98, code, "could not mount %s read-only: %s", dir, stderr.String())
	require.NotEqual(e.t, 99, code, "%s was still writable in the namespace", dir)
	return result{code, stdout.String(), stderr.String()}
}

// snapshot is every path under dir with its mode, modification time and
// content digest.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[p] = v
		return nil
	}))
	return out
}

// mountedAt reports whether anything is mounted at dir in the test's own
// mount namespace.
func mountedAt(t *testing.T, dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// volumeToBoot gives the root profile and coder a persisted intent of
// running, coder a stale pid file to sweep, and both their log directories
// and a boot log, so that nothing but the read-only volume stops boot.
func (e *env) volumeToBoot() {
	t := e.t
	e.ok(0, "profile", "create", "coder")
	for _, n := range []string{"default", "coder"} {
		p := e.paths(n)
		require.NoError(t, os.WriteFile(p.State, []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
		require.NoError(t, os.MkdirAll(filepath.Join(e.home, "logs", "gateways", n), 0o755))
	}
	require.NoError(t, os.WriteFile(e.paths("coder").Pid, []byte("1\n"), 0o644))
	require.NoError(t, os.WriteFile(profile.BootLog(e.home), []byte("earlier boot\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(e.home, "cache", "policy"), 0o755))
}

func TestBootOnReadOnlyVolume(t *testing.T) {
	e := newEnv(t)
	e.volumeToBoot()
	before := snapshot(t, e.home)

	r := e.bootReadOnly(e.home)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "supervisor: boot: the volume "+e.home+" is on a read-only file system: no state can be recorded there, so nothing was booted (no slot published, no gateway started); remount it read-write and run boot again: read-only file system\n", r.stderr)
	assert.Empty(t, r.stdout)
	slots, _ := filepath.Glob(filepath.Join(e.scandir, "*"))
	assert.Empty(t, slots, "no slot published, not even the registrar's")
	assert.Equal(t, before, snapshot(t, e.home), "nothing changed on the volume")
	assert.False(t, mountedAt(t, e.home), "a mount was left at %s", e.home)

	// The same volume, writable again, boots as it should have.
	e.ok(0, "boot")
	assert.NoFileExists(t, filepath.Join(e.scandir, "gateway-default", "down"))
	assert.NoFileExists(t, filepath.Join(e.scandir, "gateway-coder", "down"))
	assert.FileExists(t, filepath.Join(e.scandir, "gateway-coder", "run"))
	assert.NoFileExists(t, e.paths("coder").Pid, "swept once writable")
}

func TestBootWithReadOnlyProfile(t *testing.T) {
	e := newEnv(t)
	e.volumeToBoot()
	coder := e.paths("coder")
	// No stale pid file to sweep: nothing but the read-only directory
	// stands between this profile and a started slot.
	require.NoError(t, os.Remove(coder.Pid))
	before := snapshot(t, coder.Dir)

	r := e.bootReadOnly(coder.Dir)
	assert.Equal(t, 0, r.code, "one broken profile does not fail the boot: %s", r.stderr)
	assert.Contains(t, r.stderr, "boot: profile coder: skipped: boot: profile directory "+coder.Dir+" is on a read-only file system: its state could not be recorded, so its gateway is not started; remount it read-write and run boot again")
	assert.NotContains(t, r.stderr, "goroutine")
	assert.Equal(t, before, snapshot(t, coder.Dir), "nothing changed in the read-only profile")
	assert.NoDirExists(t, filepath.Join(e.scandir, "gateway-coder"), "no slot for the profile whose state cannot be recorded")
	assert.FileExists(t, filepath.Join(e.scandir, "gateway-default", "run"))
	assert.NoFileExists(t, filepath.Join(e.scandir, "gateway-default", "down"), "the writable root profile still boots")
	log, err := os.ReadFile(profile.BootLog(e.home))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	require.Len(t, lines, 3, string(log))
	assert.Contains(t, lines[1], " profile=default prior_state=running action=started ")
	assert.Contains(t, lines[2], " profile=coder prior_state=running action=skipped ")
	assert.Contains(t, lines[2], "read-only file system")
	assert.False(t, mountedAt(t, coder.Dir), "a mount was left at %s", coder.Dir)
}
