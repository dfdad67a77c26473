package volume_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// vol makes a confined volume and a directory outside it.
func vol(t *testing.T) (home, outside string) {
	t.Helper()
	home, outside = t.TempDir(), t.TempDir()
	require.NoError(t, volume.Confine(home))
	return home, outside
}

func write(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
}

func TestReadFileRefusesEveryWayOut(t *testing.T) {
	t.Parallel()
	home, outside := vol(t)
	write(t, filepath.Join(outside, "secret"), "root's")
	write(t, filepath.Join(home, "profiles", "ok", "f"), "fine")
	require.NoError(t, os.Symlink(outside, filepath.Join(home, "state")))                           // a symlinked directory
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(home, "linked"))) // a symlinked file
	require.NoError(t, os.Symlink("profiles/ok", filepath.Join(home, "inside")))                    // a symlink staying inside
	require.NoError(t, os.Link(filepath.Join(outside, "secret"), filepath.Join(home, "hard")))      // a hard link (root may)
	require.NoError(t, syscall.Mkfifo(filepath.Join(home, "fifo"), 0o644))

	b, err := volume.ReadFile(filepath.Join(home, "profiles", "ok", "f"), 100)
	require.NoError(t, err)
	assert.Equal(t, "fine", string(b))
	for name, path := range map[string]string{
		"symlinked directory":         filepath.Join(home, "state", "secret"),
		"symlinked file":              filepath.Join(home, "linked"),
		"symlink staying inside":      filepath.Join(home, "inside", "f"),
		"hard link to a file outside": filepath.Join(home, "hard"),
		"FIFO":                        filepath.Join(home, "fifo"),
	} {
		_, err := volume.ReadFile(path, 100)
		assert.Error(t, err, name)
	}
	_, err = volume.ReadFile(filepath.Join(home, "hard"), 100)
	assert.ErrorIs(t, err, volume.ErrLinks)
	_, err = volume.ReadFile(filepath.Join(home, "state", "secret"), 100)
	assert.ErrorIs(t, err, volume.ErrSymlink)
	_, err = volume.ReadFile(filepath.Join(home, "fifo"), 100)
	assert.ErrorContains(t, err, "is a FIFO, not a regular file")
}

func TestOutsideTheVolumeAsBefore(t *testing.T) {
	t.Parallel()
	_, outside := vol(t)
	write(t, filepath.Join(outside, "a", "f"), "x")
	require.NoError(t, os.Symlink(filepath.Join(outside, "a"), filepath.Join(outside, "b")))
	b, err := volume.ReadFile(filepath.Join(outside, "b", "f"), 10)
	require.NoError(t, err, "outside the volume, directories may be symlinks (configuration mounts)")
	assert.Equal(t, "x", string(b))
	require.NoError(t, os.Symlink(filepath.Join(outside, "a", "f"), filepath.Join(outside, "l")))
	_, err = volume.ReadFile(filepath.Join(outside, "l"), 10)
	assert.Error(t, err, "the last component is never followed")
}

func TestMkdirAllGivesAwayOnlyWhatItCreates(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test gives directories away: run it as root (tests/run.sh does)")
	}
	home, outside := vol(t)
	me := &volume.Owner{UID: 10000, GID: 10000}
	require.NoError(t, volume.MkdirAll(filepath.Join(home, "logs", "gateways", "coder"), 0o750, me))
	for _, d := range []string{"logs", "logs/gateways", "logs/gateways/coder"} {
		fi, err := os.Lstat(filepath.Join(home, d))
		require.NoError(t, err)
		assert.Equal(t, uint32(10000), fi.Sys().(*syscall.Stat_t).Uid, d)
	}
	require.NoError(t, os.Symlink(outside, filepath.Join(home, "logs", "evil")))
	err := volume.MkdirAll(filepath.Join(home, "logs", "evil", "etc"), 0o750, me)
	assert.ErrorIs(t, err, volume.ErrSymlink)
	assert.NoDirExists(t, filepath.Join(outside, "etc"))
	fi, err := os.Stat(outside)
	require.NoError(t, err)
	assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid, "nothing outside changes hands")
}

// The attack of a check-then-use race: the gateway user swaps a directory
// for a symlink to one outside, over and over, while root creates and
// gives away directories below it. Nothing outside is ever created.
func TestRaceNeverEscapes(t *testing.T) {
	t.Parallel()
	home, outside := vol(t)
	real := filepath.Join(home, "logs", "gateways")
	require.NoError(t, os.MkdirAll(real, 0o755))
	link := filepath.Join(home, "logs", "swap")
	require.NoError(t, os.Symlink(outside, link))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Go(func() {
		for !stop.Load() {
			if unix.Renameat2(unix.AT_FDCWD, real, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE) == nil {
				swaps.Add(1)
			}
		}
	})
	deadline := time.Now().Add(500 * time.Millisecond)
	made := 0
	for i := 0; time.Now().Before(deadline); i++ {
		p := filepath.Join(real, "p"+string(rune('a'+i%26)))
		if volume.MkdirAll(p, 0o755, nil) == nil {
			made++
		}
		_ = volume.RemoveAll(p)
		f, err := volume.OpenFile(filepath.Join(real, "f"), os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			f.Close()
		}
	}
	stop.Store(true)
	wg.Wait()
	ents, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, ents, "nothing created outside the volume (%d swaps, %d directories made)", swaps.Load(), made)
	assert.Positive(t, swaps.Load())
}

func TestRemoveAllKeepsSymlinkTargets(t *testing.T) {
	t.Parallel()
	home, outside := vol(t)
	write(t, filepath.Join(outside, "keep"), "x")
	write(t, filepath.Join(home, "profiles", "gone", "state", "f"), "y")
	require.NoError(t, os.Symlink(outside, filepath.Join(home, "profiles", "gone", "link")))
	require.NoError(t, volume.RemoveAll(filepath.Join(home, "profiles", "gone")))
	assert.NoDirExists(t, filepath.Join(home, "profiles", "gone"))
	assert.FileExists(t, filepath.Join(outside, "keep"))
	assert.NoError(t, volume.RemoveAll(filepath.Join(home, "profiles", "gone")), "missing is no error")
}

func TestRenameAndRemove(t *testing.T) {
	t.Parallel()
	home, outside := vol(t)
	write(t, filepath.Join(home, "a"), "1")
	require.NoError(t, volume.Rename(filepath.Join(home, "a"), filepath.Join(home, "b")))
	assert.FileExists(t, filepath.Join(home, "b"))
	err := volume.Rename(filepath.Join(home, "b"), filepath.Join(outside, "b"))
	assert.ErrorContains(t, err, "not on the same volume")
	require.NoError(t, volume.Remove(filepath.Join(home, "b")))
	_, err = volume.Lstat(filepath.Join(home, "b"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}

// Exists is `test -e` that never leaves the volume: a symlink counts when
// it resolves to something inside it.
func TestExistsStaysOnTheVolume(t *testing.T) {
	t.Parallel()
	home, outside := vol(t)
	write(t, filepath.Join(outside, "secret"), "root's")
	write(t, filepath.Join(home, "a", "file"), "x")
	require.NoError(t, os.MkdirAll(filepath.Join(home, "a", "dir"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(home, "a", "fifo"), 0o644))
	for name, target := range map[string]string{
		"rel":       "file",
		"up-inside": "../a/dir",
		"abs":       filepath.Join(home, "a", "file"),
		"out":       filepath.Join(outside, "secret"),
		"up-out":    "../../" + filepath.Base(outside) + "/secret",
		"dangling":  "nothing",
		"loop":      "loop",
		"chain":     "abs",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(home, "a", name)))
	}
	require.NoError(t, os.Symlink(filepath.Join(home, "a"), filepath.Join(home, "alink")))
	for path, want := range map[string]bool{
		"a/file": true, "a/dir": true, "a/fifo": true, "a/rel": true, "a/up-inside": true, "a/abs": true, "a/chain": true,
		"alink/file": true, "alink/abs": true, "alink/dir": true,
		"a/out": false, "a/up-out": false, "a/dangling": false, "a/loop": false, "a/none": false, "a/file/x": false,
	} {
		got, err := volume.Exists(filepath.Join(home, path))
		require.NoError(t, err, path)
		assert.Equal(t, want, got, path)
	}
}
