package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// TestHostileBootLogRedirected (issue 11, class 2): the gateway user
// replaces logs/ and makes logs/container-boot.log a link to a file only
// root may write. Boot (root) must not append to it: the target stays as
// it was, boot still finishes (exit 0: s6-svscan comes up) and the
// gateways boot, the boot log is written as a fresh regular file, and a
// warning names it. The hard-link variant is tried too; where the kernel
// forbids it (fs.protected_hardlinks) the test says so and checks that it
// is indeed impossible.
func TestHostileBootLogRedirected(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "other")
	stampState(t, c, "other", "running")
	logs := filepath.Join(c.Home, "logs")
	bootLog := c.BootLogPath()

	t.Run("symlink", func(t *testing.T) {
		target := rootOnlyFile(t, rootOnlyDir(t, c, "rootonly"), "target", "# root's file: boot must not append here\n")
		before := snapshot(t, target)
		mustAttack(t, c, `mv "$1" "$1.aside" && mkdir "$1" && ln -s "$2" "$1/container-boot.log"`, logs, target)
		bootAfterLogAttack(t, c, bootLog)
		assert.Equal(t, before, snapshot(t, target), "boot wrote through logs/container-boot.log, a symlink to a root-only file")
	})

	t.Run("hardlink", func(t *testing.T) {
		// A root file the gateway user can reach and read, not write.
		target := filepath.Join(c.Dir, "rootfile")
		require.NoError(t, os.WriteFile(target, []byte("# root's file: boot must not append here\n"), 0o644))
		before := snapshot(t, target)
		r := attackAs(c, `rm -f "$1" && ln "$2" "$1"`, bootLog, target)
		if !r.OK() {
			prot, _ := os.ReadFile("/proc/sys/fs/protected_hardlinks")
			t.Logf("hard-link variant impossible on this machine: the kernel refused the gateway user's link to a root file (fs.protected_hardlinks=%s): %s",
				strings.TrimSpace(string(prot)), strings.TrimSpace(r.Stderr))
			assert.Contains(t, r.Stderr, "not permitted", "the link failed for another reason than the kernel's protection: %s", r)
			assert.Equal(t, before, snapshot(t, target))
			return
		}
		bootAfterLogAttack(t, c, bootLog)
		assert.Equal(t, before, snapshot(t, target), "boot wrote through logs/container-boot.log, a hard link to a root file")
	})
}

// bootAfterLogAttack restarts the container after an attack on the boot
// log and checks that boot finished, wrote a fresh regular boot log,
// warned about the file, and booted the gateways.
func bootAfterLogAttack(t *testing.T, c *container.Container, bootLog string) {
	t.Helper()
	off := consoleSize(c)
	c.Restart()
	c.WaitScanner(bootDeadline) // boot exited 0: init went on to s6-svscan
	var log string
	ok := container.Poll(bootDeadline, func() bool {
		data, err := os.ReadFile(bootLog)
		log = string(data)
		return err == nil && container.BootLine(log, "default") != nil && container.BootLine(log, "other") != nil
	})
	var st syscall.Stat_t
	require.NoError(t, syscall.Lstat(bootLog, &st))
	assert.True(t, st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Nlink == 1, "the boot log is not a fresh regular file: mode %o, %d links", st.Mode, st.Nlink)
	require.True(t, ok, "this boot's lines are not in the boot log %s:\n%s", bootLog, log)
	console := consoleSince(c, off)
	assert.Contains(t, console, "container-boot.log", "no warning names the boot log that was replaced; console:\n%s", console)
	requireStarted(t, c, container.BootLine(log, "other"), "other")
}
