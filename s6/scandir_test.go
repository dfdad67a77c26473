package s6_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
)

func TestScandirPublish(t *testing.T) {
	scan := t.TempDir()
	d, err := (&s6.Tools{}).OpenScandir(scan)
	require.NoError(t, err)
	defer d.Close()

	slot := s6.Slot{Name: "svc", Run: sh("exec sleep 1"), Finish: sh("exit 0"), Down: true}
	existed, err := d.Publish(slot)
	require.NoError(t, err)
	assert.False(t, existed, "first publish")
	for _, f := range []string{"type", "run", "finish", "down", "supervise/control"} {
		assert.FileExists(t, filepath.Join(scan, "svc", f))
	}
	fi, err := os.Stat(filepath.Join(scan, "svc", "run"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(scan, "svc", "event"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|os.ModeSetgid|os.ModeSticky|0o730, fi.Mode())

	slot.Finish, slot.Down = nil, false
	existed, err = d.Publish(slot)
	require.NoError(t, err)
	assert.True(t, existed, "second publish updates in place")
	assert.NoFileExists(t, filepath.Join(scan, "svc", "finish"))
	assert.NoFileExists(t, filepath.Join(scan, "svc", "down"))

	ents, err := os.ReadDir(scan)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no dot-prefixed build directory is left behind")
	assert.Equal(t, "svc", ents[0].Name())
}

func TestOpenScandirRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := (&s6.Tools{}).OpenScandir(file)
	assert.ErrorContains(t, err, "is not a directory")

	_, err = (&s6.Tools{}).OpenScandir(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, syscall.ENOENT)
}

func TestPublishNeverWritesThroughASymlinkedSlot(t *testing.T) {
	scan, elsewhere := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(scan, "svc")))
	err := (&s6.Tools{}).Publish(scan, s6.Slot{Name: "svc", Run: sh("exit 0")})
	assert.ErrorContains(t, err, "is not a slot directory")
	ents, err := os.ReadDir(elsewhere)
	require.NoError(t, err)
	assert.Empty(t, ents)
}
