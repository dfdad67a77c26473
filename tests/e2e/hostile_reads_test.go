package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// TestHostileRootReadsForTheUser (issue 11, class 7): boot (root) must not
// read, for the gateway user, what that user cannot read, nor delete or
// create through a link the user planted.
//
//   - pinned: a profile.toml names a root-only file as its module with a
//     wrong sha256 pin. The file's digest (computed here, as root) appears
//     nowhere on the volume (journal, state, boot log) nor in what the
//     gateway user's commands print.
//   - leaky: profile.toml is a symlink to a root-only file with
//     recognisable content that is not TOML. That content appears nowhere
//     on the volume nor on the console.
//   - sweepy: state/ is a symlink to a root-owned directory holding files
//     named like a dead writer's temporary files: boot's sweep leaves them.
//   - cache/ is a symlink to a root-owned directory outside the volume:
//     nothing is created there.
//
// The container uses the image's configuration (no cache_dir) with a
// private /var/cache, as in TestHostileCompiledCodeCache.
func TestHostileRootReadsForTheUser(t *testing.T) {
	c := bootWith(t, container.Options{Config: hostileImageConfig, PrivateDirs: privateCache})
	secrets := rootOnlyDir(t, c, "rootonly")
	for _, p := range []string{"pinned", "pinned-volume", "leaky", "sweepy"} {
		createProfile(t, c, 0, p)
	}

	// pinned: a root-only module outside the volume, and one on it (the
	// operator's own file in a directory of root's: the one thing this
	// test puts on the volume as root, as the target).
	operator := filepath.Join(c.Home, "operator")
	require.NoError(t, os.Mkdir(operator, 0o700))
	var digests []string
	for profile, dir := range map[string]string{"pinned": secrets, "pinned-volume": operator} {
		module := make([]byte, 4096)
		_, _ = rand.Read(module)
		modulePath := filepath.Join(dir, "secret.wasm")
		require.NoError(t, os.WriteFile(modulePath, module, 0o600))
		sum := sha256.Sum256(module)
		digests = append(digests, hex.EncodeToString(sum[:]))
		setProfileConfig(t, c, profile, fmt.Sprintf("[policy]\nmodule = %q\nsha256 = %q\n", modulePath, strings.Repeat("0", 64)))
	}

	// leaky
	var tag [8]byte
	_, _ = rand.Read(tag[:])
	// Letters only, so that a TOML parser reads it as one bare word.
	secret := strings.Map(func(r rune) rune {
		if r <= '9' {
			return 'g' + r - '0'
		}
		return 'q' + r - 'a'
	}, hex.EncodeToString(tag[:]))
	// Not TOML: a parser's error quotes the last key and the bare value.
	secretToml := rootOnlyFile(t, secrets, "secret.toml", "user"+secret+" = 1\npassword = topsecret"+secret+"\n")
	mustAttack(t, c, `printf 'soul\n' > "$1/SOUL.md" && ln -sf "$2" "$1/profile.toml"`, c.ProfileDir("leaky"), secretToml)

	// sweepy
	stateDir := filepath.Join(secrets, "state")
	require.NoError(t, os.Mkdir(stateDir, 0o700))
	for _, n := range []string{".gateway.exits.json.tmp-1-1", ".decisions.jsonl.tmp-2-2", ".important.tmp-3"} {
		require.NoError(t, os.WriteFile(filepath.Join(stateDir, n), []byte("root's\n"), 0o600))
	}
	stateBefore := snapshot(t, stateDir)
	mustAttack(t, c, `rm -rf "$1/state" && ln -s "$2" "$1/state"`, c.ProfileDir("sweepy"), stateDir)

	// cache/
	outside := outsideDir(t, c, "outside")
	outsideBefore := snapshot(t, outside)
	mustAttack(t, c, `cache="$1/cache"; if [ -e "$cache" ]; then mv "$cache" "$cache.aside"; fi && ln -s "$2" "$cache"`, c.Home, outside)

	off := consoleSize(c)
	lines := restart(t, c, "pinned", "pinned-volume", "sweepy")
	console := consoleSince(c, off)

	// What the gateway user can read: the volume, and its commands' output.
	texts := volumeFiles(t, c)
	for _, args := range [][]string{
		{"explain", "--all"},
		{"-p", "pinned", "explain"},
		{"-p", "pinned-volume", "explain"},
		{"gateway", "status", "--all"},
		{"-p", "pinned", "config", "show"},
		{"-p", "pinned-volume", "config", "show"},
		{"profile", "list"},
	} {
		r := c.SupervisorAs(hermes, args...)
		texts[fmt.Sprintf("output of %q", args)] = r.Stdout + r.Stderr
	}
	for _, digest := range digests {
		for _, needle := range []string{digest, digest[:8]} {
			assert.Empty(t, whereFound(texts, needle), "the sha256 of a root-only module (%s) reached what the gateway user can read", needle)
		}
		if strings.Contains(console, digest[:8]) {
			t.Logf("note: the console (docker logs, the operator's) shows the digest %s of a root-only module", digest[:8])
		}
	}
	t.Logf("pinned: %v", lines["pinned"])
	t.Logf("pinned-volume: %v", lines["pinned-volume"])

	texts["console"] = console
	assert.Empty(t, whereFound(texts, secret), "the content of a root-only file behind a symlinked profile.toml leaked")

	assert.Equal(t, stateBefore, snapshot(t, stateDir), "boot's sweep deleted through a symlinked state/")
	assert.Equal(t, outsideBefore, snapshot(t, outside), "root created something outside the volume through a symlinked cache/")
}
