package e2e

// The hostile gateway user's campaign (issue 11): helpers shared by the
// hostile_*_test.go files. Every attack runs inside the simulated
// container as the gateway user (uid 10000) with nothing but that user's
// rights: through a shell (attackAs) or the attacker program
// (tests/hostile/attacker). The test process acts as root only to set up
// targets outside the volume that the attack tries to reach, and to
// observe.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// seeded returns a random source seeded by testenv.Seed (logged,
// replayable with HERMES_TEST_SEED).
func seeded(t *testing.T) *rand.Rand {
	t.Helper()
	seed := testenv.Seed(t)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// bootWith is boot with container options.
func bootWith(t *testing.T, opts container.Options) *container.Container {
	t.Helper()
	require.NoError(t, container.HermesUser())
	c := container.New(t, opts)
	if err := c.Bin.NeedStandin(); err != nil {
		t.Fatal(err)
	}
	c.Start()
	c.WaitBoot(bootDeadline, "default")
	return c
}

// hostileImageConfig is the test configuration with no policy cache
// setting, as the image's hermes.toml has none: the default cache
// location applies. Containers that use it get a private /var/cache (the
// image's default cache_dir is under it), so that no test writes the
// machine's own.
const hostileImageConfig = `home = "{home}"
scandir = "{scandir}"

[gateway]
command = ["{standin}", "--"]
user = "hermes"
stop_grace = "1s"
ready_after = "200ms"

[policy]
module = ""
timeout = "100ms"
`

// privateCache gives a container its own /var/cache.
var privateCache = []string{"/var/cache"}

// attacker is the path of the attacker program, built once.
func attacker(t *testing.T) string {
	t.Helper()
	p, err := container.BuildProgram("./tests/hostile/attacker", "attacker")
	require.NoError(t, err)
	return p
}

// attackAs runs a shell script inside the container as the gateway user;
// $1... are args.
func attackAs(c *container.Container, script string, args ...string) container.Result {
	return c.ExecAs(hermes, append([]string{"sh", "-c", script, "sh"}, args...)...)
}

// mustAttack is attackAs, failing the test unless the script succeeds
// (it is setting the attack up).
func mustAttack(t *testing.T, c *container.Container, script string, args ...string) container.Result {
	t.Helper()
	r := attackAs(c, script, args...)
	require.True(t, r.OK(), "the attack's setup failed: %s", r)
	return r
}

// rootOnlyDir makes a directory outside the volume that only root may
// enter (0700 root:root), and checks that the gateway user indeed cannot.
func rootOnlyDir(t *testing.T, c *container.Container, name string) string {
	t.Helper()
	dir := filepath.Join(c.Dir, name)
	require.NoError(t, os.Mkdir(dir, 0o700))
	r := c.ExecAs(hermes, "ls", dir)
	require.False(t, r.OK(), "the gateway user can list the root-only directory %s: %s", dir, r)
	return dir
}

// rootOnlyFile writes a file only root may read (0600 root:root) in a
// root-only directory and returns its path.
func rootOnlyFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// outsideDir makes a root-owned directory (0755) outside the volume, which
// the gateway user can see but not write: where a redirected root would
// create things.
func outsideDir(t *testing.T, c *container.Container, name string) string {
	t.Helper()
	dir := filepath.Join(c.Dir, name)
	require.NoError(t, os.Mkdir(dir, 0o755))
	return dir
}

// snapshot describes every entry under root (root included): type, mode,
// owner, size, modification time and a digest of each regular file's
// content. Two equal snapshots mean nothing was created, removed,
// chowned, chmodded or written there.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			out = append(out, p+" error "+err.Error())
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			out = append(out, p+" error "+err.Error())
			return nil
		}
		line := fmt.Sprintf("%s mode=%o uid=%d gid=%d size=%d nlink=%d mtime=%d.%09d", p, st.Mode, st.Uid, st.Gid, st.Size, st.Nlink, st.Mtim.Sec, st.Mtim.Nsec)
		if e.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err == nil {
				sum := sha256.Sum256(data)
				line += " sha256=" + hex.EncodeToString(sum[:8])
			}
		}
		out = append(out, line)
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}

// consoleSize is where the console ends now: read what follows with
// consoleSince.
func consoleSize(c *container.Container) int64 {
	fi, err := os.Stat(c.Console)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// consoleSince is what PID 1 (boot, then s6 and the services' output)
// printed since offset.
func consoleSince(c *container.Container, offset int64) string {
	data, err := os.ReadFile(c.Console)
	if err != nil || int64(len(data)) < offset {
		return ""
	}
	return string(data[offset:])
}

// volumeFiles returns every regular file under the volume, by path, with
// its content (what a search for a leaked secret reads).
func volumeFiles(t *testing.T, c *container.Container) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(c.Home, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil {
			files[p] = string(data)
		}
		return nil
	}))
	return files
}

// whereFound lists the places (file paths or output names) whose text
// contains needle.
func whereFound(texts map[string]string, needle string) []string {
	var at []string
	for name, s := range texts {
		if strings.Contains(s, needle) {
			at = append(at, name)
		}
	}
	sort.Strings(at)
	return at
}

// rawControls lists the control characters in s other than newline (and
// tab when allowTab), quoted, with some context: what a terminal would
// interpret instead of showing.
func rawControls(s string, allowTab bool) []string {
	var bad []string
	for i, r := range s {
		if r == '\n' || allowTab && r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			lo, hi := max(0, i-30), min(len(s), i+30)
			bad = append(bad, fmt.Sprintf("%q at %d in %q", r, i, s[lo:hi]))
		}
	}
	return bad
}

// watch records, from outside the container, the inotify events on the
// directories named (not recursively): who did it is not told, but a test
// knows who could. Stop returns them as "dir/name EVENT" lines.
type watch struct {
	fd   int
	wds  map[int32]string
	done chan []string
}

// inotify event names for the lines watch records.
var inotifyNames = []struct {
	mask uint32
	name string
}{
	{syscall.IN_ACCESS, "ACCESS"}, {syscall.IN_MODIFY, "MODIFY"}, {syscall.IN_ATTRIB, "ATTRIB"},
	{syscall.IN_CLOSE_WRITE, "CLOSE_WRITE"}, {syscall.IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {syscall.IN_OPEN, "OPEN"},
	{syscall.IN_MOVED_FROM, "MOVED_FROM"}, {syscall.IN_MOVED_TO, "MOVED_TO"}, {syscall.IN_CREATE, "CREATE"},
	{syscall.IN_DELETE, "DELETE"}, {syscall.IN_DELETE_SELF, "DELETE_SELF"}, {syscall.IN_MOVE_SELF, "MOVE_SELF"},
}

func startWatch(t *testing.T, mask uint32, dirs ...string) *watch {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	require.NoError(t, err)
	w := &watch{fd: fd, wds: map[int32]string{}, done: make(chan []string, 1)}
	for _, d := range dirs {
		wd, err := syscall.InotifyAddWatch(fd, d, mask|syscall.IN_DONT_FOLLOW)
		require.NoError(t, err, "inotify watch %s", d)
		w.wds[int32(wd)] = d
	}
	return w
}

// Stop ends the watch and returns what happened since it began.
func (w *watch) Stop() []string {
	var out []string
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(w.fd, buf)
		if n <= 0 || err != nil {
			break
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := ""
			if ev.Len > 0 {
				raw := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				name = strings.TrimRight(string(raw), "\x00")
			}
			var what []string
			for _, e := range inotifyNames {
				if ev.Mask&e.mask != 0 {
					what = append(what, e.name)
				}
			}
			out = append(out, filepath.Join(w.wds[ev.Wd], name)+" "+strings.Join(what, "|"))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
	syscall.Close(w.fd)
	return out
}
