package state

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// temps lists the temporary files in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Lstat(path, &st))
	return st.Ino
}

// The update goes through the spare prepared beforehand: the state file
// becomes that very inode, and nothing else is left behind.
func TestKeeperWritesThroughSpare(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway_state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"gateway_state":"running","pid":42}`), 0o644))
	k := NewKeeper(path)
	spares := temps(t, dir)
	require.Len(t, spares, 2, "two spares prepared: a stop writes twice")
	spare := inode(t, filepath.Join(dir, spares[0]))

	code := 1
	f, err := k.Set(Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning, ExitCode: &code, Reason: "signal", Trigger: "signal"}, t0)
	require.NoError(t, err)
	assert.Equal(t, "running", f.GatewayState)
	assert.Equal(t, spare, inode(t, path), "the state file is the spare, renamed")
	assert.Len(t, temps(t, dir), 1, "a spare is used once")
	var raw map[string]any
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, float64(42), raw["pid"], "unknown key kept")
	assert.Equal(t, "signal", raw["reason"])

	k.Prepare()
	assert.Len(t, temps(t, dir), 2, "a new spare")
	k.Close()
	assert.Empty(t, temps(t, dir), "Close removes the unused spares")
}

// A Keeper's held lock and Update's lock exclude each other: two writers
// of different fields never lose an increment.
func TestKeeperSharesTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	k := NewKeeper(path)
	defer k.Close()
	const n = 50
	incr := func(key string) func(*File) error {
		return func(f *File) error {
			if f.raw == nil {
				f.raw = map[string]json.RawMessage{}
			}
			var cur int
			_ = json.Unmarshal(f.raw[key], &cur)
			f.raw[key] = json.RawMessage(strconv.Itoa(cur + 1))
			return nil
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range n {
			_, err := k.apply(incr("keeper"), true)
			assert.NoError(t, err)
			k.Prepare()
		}
	}()
	go func() {
		defer wg.Done()
		for range n {
			_, err := Update(path, incr("update"))
			assert.NoError(t, err)
		}
	}()
	wg.Wait()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw map[string]int
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, n, raw["keeper"])
	assert.Equal(t, n, raw["update"])
}

// When the lock file it holds was removed and another process locks the
// new one, the Keeper waits for that lock rather than its stale one.
func TestKeeperLockFileReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	k := NewKeeper(path)
	defer k.Close()
	require.NoError(t, os.Remove(path+".lock"))
	held, err := LockFile(path, time.Second)
	require.NoError(t, err)
	// While the new lock file is held, the update cannot take it: it
	// times out naming it (with the stale lock it held, it would succeed).
	k.timeout = 50 * time.Millisecond
	_, err = k.Set(Change{Gateway: hostabi.StateStopped}, t0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+".lock: still held by another process")
	held.Unlock()
	_, err = k.Set(Change{Gateway: hostabi.StateStopped}, t0)
	require.NoError(t, err, "released: the update goes through")
}

// A spare removed or replaced behind the Keeper's back is not used: the
// update creates its own temporary file, and never writes through a
// symlink planted under the spare's name.
func TestKeeperSpareTamperedWith(t *testing.T) {
	for _, tamper := range []string{"removed", "symlink"} {
		t.Run(tamper, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "gateway_state.json")
			outside := filepath.Join(t.TempDir(), "outside")
			require.NoError(t, os.WriteFile(outside, []byte("untouched"), 0o644))
			k := NewKeeper(path)
			defer k.Close()
			spares := temps(t, dir)
			require.Len(t, spares, 2)
			for _, sp := range spares {
				spare := filepath.Join(dir, sp)
				require.NoError(t, os.Remove(spare))
				if tamper == "symlink" {
					require.NoError(t, os.Symlink(outside, spare))
				}
			}
			_, err := k.Set(Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateStopped}, t0)
			require.NoError(t, err)
			f, err := Read(path)
			require.NoError(t, err)
			assert.Equal(t, hostabi.StateStopped, f.Gateway())
			data, err := os.ReadFile(outside)
			require.NoError(t, err)
			assert.Equal(t, "untouched", string(data))
			fi, err := os.Lstat(path)
			require.NoError(t, err)
			assert.True(t, fi.Mode().IsRegular())
		})
	}
}

func TestKeeperRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway_state.json")
	k := NewKeeper(path)
	defer k.Close()
	require.NoError(t, os.Mkdir(path, 0o755))
	_, err := k.Set(Change{Gateway: hostabi.StateRunning}, t0)
	require.ErrorIs(t, err, ErrNotRegular)
	assert.Len(t, temps(t, dir), 1, "the spare it took is cleaned up")
}

// A new Keeper removes the temporary files of writers that are gone, and
// leaves those of live processes alone.
func TestKeeperRemovesOrphans(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway_state.json")
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	dead := ".gateway_state.json.tmp-" + strconv.Itoa(gone.Process.Pid) + "-3"
	live := ".gateway_state.json.tmp-1-7" // pid 1 is always alive
	other := ".gateway.lifecycle.json.tmp-" + strconv.Itoa(gone.Process.Pid) + "-1"
	for _, n := range []string{dead, live, other} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	k := NewKeeper(path)
	defer k.Close()
	got := temps(t, dir)
	assert.NotContains(t, got, dead)
	assert.Contains(t, got, live)
	assert.Contains(t, got, other, "only this state file's temporaries")
}

// Holds is true only while the state file is, inode and bytes, what the
// Keeper's last update made durable, and only for the states it holds.
func TestKeeperHolds(t *testing.T) {
	running, stopped, none := hostabi.StateRunning, hostabi.StateStopped, hostabi.StateNone
	fresh := func(t *testing.T) (*Keeper, string) {
		path := filepath.Join(t.TempDir(), "gateway_state.json")
		k := NewKeeper(path)
		t.Cleanup(k.Close)
		assert.False(t, k.Holds(none, none), "nothing written yet")
		_, err := k.Set(Change{Gateway: running, Desired: running, Reason: "gateway reports running"}, t0)
		require.NoError(t, err)
		return k, path
	}

	t.Run("after its own write", func(t *testing.T) {
		k, _ := fresh(t)
		assert.True(t, k.Holds(running, running))
		assert.True(t, k.Holds(running, none), "desired left as is")
		assert.True(t, k.Holds(none, none))
		assert.False(t, k.Holds(stopped, none), "another gateway_state")
		assert.False(t, k.Holds(running, stopped), "another desired_state")
	})
	t.Run("another writer replaced the file", func(t *testing.T) {
		k, path := fresh(t)
		_, err := Set(path, Change{Desired: running}, t0) // same states, new inode
		require.NoError(t, err)
		assert.False(t, k.Holds(running, running))
	})
	t.Run("edited in place, same size", func(t *testing.T) {
		k, path := fresh(t)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		edited := strings.Replace(string(data), `"running"`, `"stopped"`, 1)
		require.Len(t, edited, len(data))
		require.NoError(t, os.WriteFile(path, []byte(edited), 0o644)) // truncates and rewrites the same inode
		assert.False(t, k.Holds(running, running))
	})
	t.Run("removed", func(t *testing.T) {
		k, path := fresh(t)
		require.NoError(t, os.Remove(path))
		assert.False(t, k.Holds(running, running))
	})
	t.Run("a failed update forgets", func(t *testing.T) {
		k, _ := fresh(t)
		_, err := k.apply(func(*File) error { return os.ErrInvalid }, true)
		require.Error(t, err)
		assert.False(t, k.Holds(running, running), "conservative after an update that did not happen")
	})
	t.Run("written without a spare", func(t *testing.T) {
		k, _ := fresh(t) // one spare was used; the other now
		_, err := k.Set(Change{Reason: "second"}, t0)
		require.NoError(t, err)
		assert.True(t, k.Holds(running, running))
		_, err = k.Set(Change{Reason: "again"}, t0) // none prepared since
		require.NoError(t, err)
		assert.False(t, k.Holds(running, running), "identity unknown: not claimed")
		k.Prepare()
		_, err = k.Set(Change{Reason: "once more"}, t0)
		require.NoError(t, err)
		assert.True(t, k.Holds(running, running))
	})
}

// A lazy write is atomic but claims nothing durable: Holds stays false.
func TestKeeperSetLazy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	k := NewKeeper(path)
	defer k.Close()
	_, err := k.Set(Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning}, t0)
	require.NoError(t, err)
	require.True(t, k.Holds(hostabi.StateRunning, hostabi.StateRunning))
	_, err = k.SetLazy(Change{Reason: "record"}, t0)
	require.NoError(t, err)
	f, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, "record", f.Reason)
	assert.False(t, k.Holds(hostabi.StateRunning, hostabi.StateRunning), "a lazy write is not known durable")
}
