package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"coder", true},
		{"a", true},
		{"0x", true},
		{"my_bot-2", true},
		{strings.Repeat("a", MaxNameLen), true},
		{strings.Repeat("a", MaxNameLen+1), false},
		{"", false},
		{"Coder", false},
		{"-lead", false},
		{"_lead", false},
		{"..", false},
		{"a/b", false},
		{"a\x00b", false},
		{"café", false},
		{"a.b", false},
		{"a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrInvalidName)
			}
		})
	}
}

func TestForBuildsPathsInsideHome(t *testing.T) {
	p, err := For("/opt/data", "default")
	require.NoError(t, err)
	assert.Equal(t, "/opt/data", p.Dir)
	assert.Equal(t, "/opt/data/gateway_state.json", p.State)
	assert.Equal(t, "/opt/data/.gateway-planned-stop.json", p.Marker)
	assert.Equal(t, "/opt/data/state/supervisor.lifecycle.json", p.Ledger)
	assert.Equal(t, "/opt/data/state/gateway.lifecycle.json", p.GatewayLedger)

	p, err = For("/opt/data", "coder")
	require.NoError(t, err)
	assert.Equal(t, "/opt/data/profiles/coder", p.Dir)
	assert.Equal(t, "/opt/data/profiles/coder/gateway_state.json", p.State)
	assert.Equal(t, "/opt/data/logs/gateways/coder", p.Logs)

	_, err = For("/opt/data", "../etc")
	assert.ErrorIs(t, err, ErrInvalidName)
}

func TestList(t *testing.T) {
	home := t.TempDir()
	mk := func(name, marker string) {
		dir := filepath.Join(home, "profiles", name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		if marker != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, marker), nil, 0o644))
		}
	}
	mk("zeta", "profile.toml")
	mk("alpha", "SOUL.md")
	mk("notaprofile", "")
	mk("Bad", "profile.toml")
	mk("default", "profile.toml")
	mk(".hidden", "profile.toml")
	require.NoError(t, os.Symlink("/etc", filepath.Join(home, "profiles", "link")))
	require.NoError(t, os.WriteFile(filepath.Join(home, "profiles", "file"), nil, 0o644))

	names, problems, err := List(home)
	require.NoError(t, err)
	assert.Equal(t, []string{"default", "alpha", "zeta"}, names)
	var entries []string
	for _, p := range problems {
		entries = append(entries, p.Entry)
		assert.Contains(t, p.Error(), "profiles/"+p.Entry)
	}
	assert.ElementsMatch(t, []string{"Bad", "default", "link"}, entries)
	assert.True(t, Exists(home, "alpha"))
	assert.True(t, Exists(home, "default"))
	assert.False(t, Exists(home, "notaprofile"))
	assert.False(t, Exists(home, "../x"))
}

func TestListWithoutProfilesDir(t *testing.T) {
	names, problems, err := List(t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, []string{"default"}, names)
	assert.Empty(t, problems)
}

func TestListProfilesNotADirectory(t *testing.T) {
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, "profiles"), []byte("x"), 0o644))
	names, _, err := List(home)
	require.Error(t, err)
	assert.Equal(t, []string{"default"}, names, "the root profile is listed anyway")
	assert.False(t, errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), filepath.Join(home, "profiles"))
	s := ScanProfiles(home)
	require.Error(t, s.NotListed)
	assert.Contains(t, s.NotListed.Error(), "regular file")
	assert.Empty(t, s.Entries)
}

// TestScanProfiles: what boot sees under profiles/, as upstream's
// reconciler would count it (SOUL.md by existence, code-point order).
func TestScanProfiles(t *testing.T) {
	home := t.TempDir()
	require.NoError(t, volume.Confine(home))
	t.Cleanup(volume.Release)
	pd := filepath.Join(home, "profiles")
	mkdir := func(name string) string {
		d := filepath.Join(pd, name)
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	touch := func(p string) { require.NoError(t, os.WriteFile(p, nil, 0o644)) }
	touch(filepath.Join(mkdir("zulu"), "profile.toml"))
	touch(filepath.Join(mkdir("alpha"), "SOUL.md"))
	mkdir(filepath.Join("soul-dir", "SOUL.md"))                                                        // SOUL.md a directory
	require.NoError(t, syscall.Mkfifo(filepath.Join(mkdir("soul-fifo"), "SOUL.md"), 0o644))            // a FIFO: never opened
	touch(filepath.Join(mkdir("shared"), "soul.txt"))                                                  // no marker of its own
	require.NoError(t, os.Symlink("../shared/soul.txt", filepath.Join(mkdir("soul-link"), "SOUL.md"))) // within the volume
	require.NoError(t, os.Symlink(filepath.Join(pd, "shared", "soul.txt"), filepath.Join(mkdir("soul-abs"), "SOUL.md")))
	outside := filepath.Join(t.TempDir(), "SOUL.md")
	touch(outside)
	require.NoError(t, os.Symlink(outside, filepath.Join(mkdir("soul-out"), "SOUL.md")))        // leaves the volume
	require.NoError(t, os.Symlink("../../../x", filepath.Join(mkdir("soul-up"), "SOUL.md")))    // leaves the volume
	require.NoError(t, os.Symlink("nowhere", filepath.Join(mkdir("soul-dangling"), "SOUL.md"))) // dangles
	touch(filepath.Join(mkdir("Mike"), "SOUL.md"))
	touch(filepath.Join(mkdir("default"), "SOUL.md"))
	touch(filepath.Join(mkdir(".hidden"), "SOUL.md"))
	mkdir("stray")
	require.NoError(t, os.Symlink("alpha", filepath.Join(pd, "mid")))
	require.NoError(t, os.Symlink("/etc", filepath.Join(pd, "etc")))
	touch(filepath.Join(mkdir("\xc3\xa9t\xc3\xa9"), "SOUL.md")) // "été": after every ASCII name
	touch(filepath.Join(pd, "README"))                          // a file: not an entry

	s := ScanProfiles(home)
	require.NoError(t, s.NotListed)
	var got []string
	for _, e := range s.Entries {
		got = append(got, fmt.Sprintf("%s:%d", e.Name, e.Kind))
		if e.Kind != KindProfile {
			assert.Error(t, e.Err, e.Name)
		}
	}
	assert.Equal(t, []string{
		".hidden:3", "Mike:1", "alpha:0", "default:2", "etc:3", "mid:1", "shared:3", "soul-abs:0", "soul-dangling:3",
		"soul-dir:0", "soul-fifo:0", "soul-link:0", "soul-out:3", "soul-up:3", "stray:3", "zulu:0", "\xc3\xa9t\xc3\xa9:1",
	}, got)

	names, problems, err := List(home)
	require.NoError(t, err)
	assert.Equal(t, []string{"default", "alpha", "soul-abs", "soul-dir", "soul-fifo", "soul-link", "zulu"}, names)
	var bad []string
	for _, p := range problems {
		bad = append(bad, p.Entry)
	}
	assert.Equal(t, []string{"Mike", "default", "etc", "mid", "\xc3\xa9t\xc3\xa9"}, bad)
	assert.True(t, Exists(home, "soul-dir"))
	assert.False(t, Exists(home, "soul-out"))
}

func TestPyLess(t *testing.T) {
	// Python: sorted(["b", "a\udcff", "\u00e9", "\ue000", "a"]) with the
	// surrogate standing for the undecodable byte 0xff.
	names := []string{"b", "a\xff", "\xc3\xa9", "\xee\x80\x80", "a", "\x80"}
	sort.Slice(names, func(i, j int) bool { return pyLess(names[i], names[j]) })
	assert.Equal(t, []string{"a", "a\xff", "b", "\xc3\xa9", "\x80", "\xee\x80\x80"}, names)
}
