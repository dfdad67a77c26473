package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// TestFullDisk: on a full volume (a 64 KiB tmpfs, filled), a state write
// fails with an error naming the file, and the old state is kept whole.
// Root only: it mounts the tmpfs (and unmounts it when done).
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestFullDisk mounts a tmpfs: run the tests as root (tests/run.sh)")
	}
	dir := t.TempDir()
	require.NoError(t, syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"), "mount a small tmpfs")
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	path := filepath.Join(dir, "gateway_state.json")
	_, err := Set(path, Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning}, time.Now())
	require.NoError(t, err)
	old, err := os.ReadFile(path)
	require.NoError(t, err)

	// Fill the disk.
	f, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
			break
		}
	}
	f.Close()

	_, err = Set(path, Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateStopped, Reason: strings.Repeat("x", 8192)}, time.Now())
	require.Error(t, err, "a write on a full disk must fail")
	t.Log(err)
	assert.Contains(t, err.Error(), "gateway_state.json", "the error names the file")
	assert.NotContains(t, err.Error(), "\n")
	now, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	assert.Equal(t, string(old), string(now), "the old state is kept")
	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, "running", got.GatewayState)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	assert.Empty(t, leftovers, "no temporary file left behind")
}
