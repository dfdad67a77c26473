package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.Equal(t, "/opt/data/state/gateway.lifecycle.json", p.Lifecycle)

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

func TestListUnreadableProfilesDir(t *testing.T) {
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, "profiles"), []byte("x"), 0o644))
	_, _, err := List(home)
	require.Error(t, err)
	assert.False(t, errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), filepath.Join(home, "profiles"))
}
