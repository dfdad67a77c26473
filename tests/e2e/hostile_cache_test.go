package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// imageCacheDir is the default policy.cache_dir of the image (issue 11).
const imageCacheDir = "/var/cache/hermes-supervisor"

// crashed matches what a Go process killed by machine code it should not
// have run prints.
var crashed = regexp.MustCompile(`SIGTRAP|SIGILL|SIGSEGV|unexpected signal|fatal error:|panic:`)

// TestHostileCompiledCodeCache (issue 11, class 1): root must never load
// compiled policy code from anywhere the gateway user can write.
//
// The gateway user learns the cache key of the default policy from its
// own cache (the gateways' supervisors compile it as that user), moves
// the volume's cache/ aside, and plants an entry under the old location of
// root's cache (<home>/cache/policy/uid-0) with the same key, the machine
// code replaced by breakpoints and the checksum recomputed: executed, it
// kills boot with SIGTRAP. It also sets `[policy] cache_dir` in a
// profile.toml to a directory it owns, holding the same planted entry.
//
// The next container boot must run (s6-svscan comes up, no crash), decide
// with the default policy, refuse the profile.toml setting in a message
// naming the file and policy.cache_dir (that profile skipped, the others
// booted), and never open what was planted (watched with inotify; the
// files intact). Root's own cache is in the image's cache directory,
// uid-0 at mode 0700.
//
// The container uses the image's configuration (no cache_dir) with a
// private /var/cache, where the image's cache directory lies.
func TestHostileCompiledCodeCache(t *testing.T) {
	c := bootWith(t, container.Options{Config: hostileImageConfig, PrivateDirs: privateCache})
	att := attacker(t)
	createProfile(t, c, 0, "other")
	// The gateway user's supervisor compiles the default policy, as that
	// user, into the gateway user's own cache.
	startGateway(t, c, hermes, "default")

	cache := filepath.Join(c.Home, "cache")
	oldRoot := filepath.Join(cache, "policy", "uid-0")
	mustAttack(t, c, `if [ -e "$1" ]; then mv "$1" "$1.aside"; fi && mkdir -p "$2"`, cache, oldRoot)
	// Where its own compiled code may be; failing that, it compiles the
	// default policy itself (the module is no secret: it is in the binary).
	root, err := container.ModuleRoot()
	require.NoError(t, err)
	wasm, err := os.ReadFile(filepath.Join(root, "policies", "default", "default.wasm"))
	require.NoError(t, err)
	module := filepath.Join(c.Dir, "default.wasm")
	require.NoError(t, os.WriteFile(module, wasm, 0o644))
	sources := []string{cache + ".aside", imageCacheDir, module}
	var planted string
	require.True(t, container.Poll(10*time.Second, func() bool {
		r := c.ExecAs(hermes, append([]string{att, "plant-cache", oldRoot}, sources...)...)
		planted = strings.TrimSpace(r.Stdout)
		return r.OK()
	}), "the gateway user found no compiled module of its own under %v", sources)
	t.Logf("attack 1: %s", planted)

	createProfile(t, c, 0, "sneaky")
	own := filepath.Join(c.Home, "sneaky-cache")
	setProfileConfig(t, c, "sneaky", fmt.Sprintf("[policy]\ncache_dir = %q\n", own))
	r := mustAttack(t, c, `a=$1 dst=$2; shift 2; "$a" plant-cache "$dst/uid-0" "$@"`, append([]string{att, own}, sources...)...)
	t.Logf("attack 2: %s", strings.TrimSpace(r.Stdout))

	cacheBefore, ownBefore := snapshot(t, cache), snapshot(t, own)
	var watched []string
	for _, d := range []string{oldRoot, filepath.Join(own, "uid-0")} {
		ents, err := os.ReadDir(d)
		require.NoError(t, err)
		watched = append(watched, d)
		for _, e := range ents {
			watched = append(watched, filepath.Join(d, e.Name()))
		}
	}
	w := startWatch(t, syscall.IN_ALL_EVENTS, watched...)

	off := consoleSize(c)
	c.Restart()
	container.Poll(bootDeadline, func() bool { return c.ScannerUp() || crashed.MatchString(consoleSince(c, off)) })
	console := consoleSince(c, off)
	if m := crashed.FindStringIndex(console); m != nil {
		t.Fatalf("boot ran the planted machine code and crashed:\n%s", console[max(0, m[0]-200):min(len(console), m[1]+400)])
	}
	lines := c.WaitBoot(bootDeadline, "default", "other", "sneaky")
	events := w.Stop()

	assert.Regexp(t, `^default@`, lines["default"]["policy"], "boot did not decide with the default policy: %v", lines["default"])
	requireStarted(t, c, lines["default"], "default")
	assert.NotEqual(t, "skipped", lines["other"]["action"], "%v", lines["other"])
	assert.Equal(t, "skipped", lines["sneaky"]["action"], "a profile.toml setting policy.cache_dir was not refused: %v", lines["sneaky"])
	assert.Contains(t, lines["sneaky"]["reason"], "policy.cache_dir", "%v", lines["sneaky"])
	assert.Contains(t, lines["sneaky"]["reason"], filepath.Join(c.ProfileDir("sneaky"), "profile.toml"), "%v", lines["sneaky"])

	assert.Empty(t, events, "something opened or changed what the gateway user planted (only root uses uid-0)")
	assert.Equal(t, cacheBefore, snapshot(t, cache), "boot wrote under the volume's cache/, which the gateway user controls")
	assert.Equal(t, ownBefore, snapshot(t, own), "boot wrote under the cache_dir a profile.toml named")

	var st syscall.Stat_t
	rootCache := c.Path(filepath.Join(imageCacheDir, "uid-0"))
	if assert.NoError(t, syscall.Lstat(rootCache, &st), "root's cache is not in the image's cache directory %s", imageCacheDir) {
		assert.Equal(t, uint32(syscall.S_IFDIR|0o700), st.Mode, "%s: mode %o", rootCache, st.Mode)
		assert.Equal(t, uint32(0), st.Uid, "%s belongs to uid %d", rootCache, st.Uid)
	}
}
