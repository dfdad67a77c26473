package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// TestHostileProfilesSymlinkedAway (issue 11, class 5): the gateway user
// replaces profiles/ with a symlink to a directory outside the volume;
// root's `profile create` must not follow it. Nothing is created outside;
// the command fails naming profiles/, or creates the profile inside the
// volume only.
func TestHostileProfilesSymlinkedAway(t *testing.T) {
	c := boot(t, "")
	outside := outsideDir(t, c, "outside")
	before := snapshot(t, outside)
	profiles := filepath.Join(c.Home, "profiles")

	mustAttack(t, c, `if [ -e "$1" ]; then mv "$1" "$1.aside"; fi && ln -s "$2" "$1"`, profiles, outside)

	r := c.Supervisor("profile", "create", "newp")
	t.Logf("root's profile create through a symlinked profiles/: %s", r)
	assert.Equal(t, before, snapshot(t, outside), "root's profile create wrote through the symlinked profiles/ into %s", outside)
	if r.OK() {
		fi, err := os.Lstat(profiles)
		require.NoError(t, err)
		assert.True(t, fi.IsDir(), "profile create succeeded, but profiles/ is still the user's symlink (%s): the profile is not inside the volume", fi.Mode())
		assert.DirExists(t, filepath.Join(profiles, "newp"))
	} else {
		assert.Contains(t, r.Stderr, "profiles", "the refusal names profiles/: %s", r)
	}
}

// TestHostileHalfDone (issue 11, class 10): operations killed half-way.
//
// A SIGKILLed `profile delete` (killed at random moments of a profile
// holding many files) must never leave a directory that a later `profile
// create` of the same name adopts: the new profile holds nothing of the
// old one. A dead writer's temporary marker file
// (..gateway-planned-stop.json.tmp-*) is removed by the next operator
// command that meets it, not only by boot; so are those that SIGKILLed
// `gateway stop`s actually leave.
func TestHostileHalfDone(t *testing.T) {
	t.Run("profile delete", func(t *testing.T) {
		c := boot(t, "")
		att := attacker(t)
		rng := seeded(t)
		const files = 2000
		n := testenv.Trials(t, 6, 40)
		// How long a whole delete takes, to pick kill times within it.
		full := 300 * time.Millisecond
		leftovers := 0
		for i := range n + 1 {
			createProfile(t, c, hermes, "victim")
			dir := c.ProfileDir("victim")
			mustAttack(t, c, `"$1" fill "$2/data" "$3" >/dev/null && printf 'old\n' > "$2/SOUL.md"`, att, dir, fmt.Sprint(files))
			// Rewrite profile.toml last (a new directory entry), so that a
			// delete that walks the directory removes it early, before
			// the many files: the widest window for a half-deleted
			// profile that no longer looks like one.
			writeAs(t, c, "victim", "profile.toml", "# old profile\n")
			if i == 0 {
				start := time.Now()
				run(t, c, hermes, "profile", "delete", "victim")
				full = time.Since(start)
				t.Logf("a whole delete of %d files took %s", files, full)
				continue
			}
			// Most of a delete is removing the files: kill it in the
			// last three quarters of the time a whole one took.
			delay := full/4 + time.Duration(rng.Int64N(int64(full*3/4)))
			r := c.ExecAs(hermes, att, "killafter", delay.String(), c.Bin.Supervisor, "profile", "delete", "victim")
			require.True(t, r.OK(), "%s", r)
			outcome := strings.TrimSpace(r.Stdout)

			cr := c.SupervisorAs(hermes, "profile", "create", "victim")
			ents, _ := os.ReadDir(dir)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if cr.OK() {
				if !assert.ElementsMatch(t, []string{"profile.toml"}, names,
					"trial %d (delete killed at %s: %s): `profile create victim` succeeded and adopted what the killed delete left of the old profile", i, delay, outcome) {
					leftovers++
				}
			} else {
				// The old profile is still whole (the delete was killed
				// before it began): create refuses, and that is right.
				assert.Contains(t, cr.Stderr, "exists", "trial %d (delete killed at %s: %s): %s", i, delay, outcome, cr)
				assert.Contains(t, names, "SOUL.md", "trial %d: create refused, so the old profile must still be whole", i)
			}
			run(t, c, hermes, "profile", "delete", "victim")
		}
		t.Logf("%d of %d killed deletes left a profile that create adopted", leftovers, n)
	})

	t.Run("stop marker temporary files", func(t *testing.T) {
		c := boot(t, "")
		att := attacker(t)
		rng := seeded(t)
		createProfile(t, c, 0, "tidy")
		dir := c.ProfileDir("tidy")

		// A writer killed mid-write leaves ".<name>.tmp-<pid>-<n>": plant
		// one as a SIGKILLed stop would, naming a pid that is gone.
		r := mustAttack(t, c, `sh -c 'exit 0' & wait $!; echo $!`)
		dead := strings.TrimSpace(r.Stdout)
		planted := filepath.Join(dir, "..gateway-planned-stop.json.tmp-"+dead+"-1")
		mustAttack(t, c, `printf '{"target_pid": 1' > "$1"`, planted)

		startGateway(t, c, hermes, "tidy")
		run(t, c, hermes, "-p", "tidy", "gateway", "stop")
		assert.NoFileExists(t, planted, "a dead writer's temporary marker outlived `gateway start` and `gateway stop`: only boot removes it")
		mustAttack(t, c, `rm -f "$1"`, planted) // the campaign below counts only what it leaves

		// Then the real thing: SIGKILL `gateway stop` at random moments
		// and look for what it leaves.
		n := testenv.Trials(t, 6, 50)
		left := 0
		for i := range n {
			startGateway(t, c, hermes, "tidy")
			delay := time.Duration(rng.Int64N(int64(40 * time.Millisecond)))
			r := c.ExecAs(hermes, att, "killafter", delay.String(), c.Bin.Supervisor, "-p", "tidy", "gateway", "stop")
			require.True(t, r.OK(), "%s", r)
			settle(t, c, "tidy")
			tmps, _ := filepath.Glob(filepath.Join(dir, "..gateway-planned-stop.json.tmp-*"))
			if len(tmps) == 0 {
				continue
			}
			left++
			t.Logf("trial %d: stop killed at %s (%s) left %v", i, delay, strings.TrimSpace(r.Stdout), tmps)
			run(t, c, hermes, "-p", "tidy", "gateway", "stop")
			for _, p := range tmps {
				assert.NoFileExists(t, p, "trial %d: the temporary marker a killed stop left outlived the next `gateway stop`", i)
				mustAttack(t, c, `rm -f "$1"`, p) // each trial counts only what it leaves
			}
		}
		t.Logf("%d of %d killed stops left a temporary marker file", left, n)
	})
}

// TestHostileUnprivilegedOperatorAfterRootCreate (issue 11, class 11):
// after root creates a profile, profiles/ still belongs to the gateway
// user, who can then create, start, stop, restart, ask the status of and
// delete a profile of its own, with real s6.
func TestHostileUnprivilegedOperatorAfterRootCreate(t *testing.T) {
	c := boot(t, "")
	createProfile(t, c, 0, "byroot")
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(filepath.Join(c.Home, "profiles"), &st))
	assert.Equal(t, uint32(hermes), st.Uid, "profiles/ belongs to uid %d after a root `profile create`, not to the gateway user", st.Uid)

	createProfile(t, c, hermes, "mine")
	first := startGateway(t, c, hermes, "mine")
	waitState(t, c, "mine", "running")
	r := run(t, c, hermes, "-p", "mine", "gateway", "status")
	assert.Contains(t, r.Stdout, "mine")
	run(t, c, hermes, "-p", "mine", "gateway", "restart")
	c.WaitStatus("mine", upDeadline, "up again under a new pid", func(s container.Status) bool { return s.Up && s.Pid != first.Pid })
	run(t, c, hermes, "-p", "mine", "gateway", "stop")
	c.WaitDown("mine", upDeadline)
	waitState(t, c, "mine", "stopped")
	run(t, c, hermes, "profile", "delete", "mine")
	assert.NoDirExists(t, c.ProfileDir("mine"))
	// And root's profile is the gateway user's to run as well.
	startGateway(t, c, hermes, "byroot")
	run(t, c, hermes, "-p", "byroot", "gateway", "stop")
}

// settle waits until what s6 does for profile's slot is what it wants
// (up and ready, or down and finished): a command killed half-way may
// have left s6 at work, and its s6-svc children (which outlive it) may
// not have spoken yet.
func settle(t *testing.T, c *container.Container, profile string) {
	t.Helper()
	var r container.Result
	require.True(t, container.Poll(upDeadline, func() bool {
		r = c.Exec("sh", "-c", `for f in /proc/[0-9]*/comm; do
	read -r n < "$f" 2>/dev/null || continue
	case $n in s6-svc|s6-svlisten1|s6-svwait) echo "$f $n"; exit 1;; esac
done`)
		return r.OK()
	}), "a killed command's s6 children still run: %s", r)
	st := c.WaitStatus(profile, upDeadline, "settled", func(s container.Status) bool { return s.Up == s.WantedUp })
	event := "-U"
	if !st.WantedUp {
		event = "-D"
	}
	r = c.Exec("s6-svwait", event, "-t", "20000", c.SlotInside(profile))
	require.True(t, r.OK(), "%s", r)
}
