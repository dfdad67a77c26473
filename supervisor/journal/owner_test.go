package journal

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendGivesToProfileOwner: as root, a state directory and journal
// that Append creates belong to the owner of the profile directory, so the
// gateway user's supervisor can append later; an existing root-owned
// journal in a directory the user owns is given to that user too.
// Unprivileged, everything stays the caller's.
func TestAppendGivesToProfileOwner(t *testing.T) {
	const uid, gid = 10000, 10000
	wantUID, wantGID := uint32(uid), uint32(gid)
	if os.Geteuid() != 0 {
		wantUID, wantGID = uint32(os.Geteuid()), uint32(os.Getegid())
	}
	owned := func(t *testing.T, p string) {
		t.Helper()
		var st syscall.Stat_t
		require.NoError(t, syscall.Lstat(p, &st))
		assert.Equal(t, [2]uint32{wantUID, wantGID}, [2]uint32{st.Uid, st.Gid}, p)
	}
	profileDir := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "p")
		require.NoError(t, os.Mkdir(dir, 0o755))
		if os.Geteuid() == 0 {
			require.NoError(t, os.Chown(dir, uid, gid))
		}
		return dir
	}

	t.Run("created", func(t *testing.T) {
		dir := profileDir(t)
		path := filepath.Join(dir, "state", "decisions.jsonl")
		require.NoError(t, Append(path, entry(1, 0, 0)))
		owned(t, filepath.Join(dir, "state"))
		owned(t, path)
	})
	t.Run("existing root file", func(t *testing.T) {
		dir := profileDir(t)
		sd := filepath.Join(dir, "state")
		require.NoError(t, os.Mkdir(sd, 0o755))
		if os.Geteuid() == 0 {
			require.NoError(t, os.Chown(sd, uid, gid))
		}
		path := filepath.Join(sd, "decisions.jsonl")
		require.NoError(t, os.WriteFile(path, nil, 0o644))
		require.NoError(t, Append(path, entry(1, 0, 0)))
		owned(t, path)
	})
}
