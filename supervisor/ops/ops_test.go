package ops_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

func newOps(t *testing.T) *ops.Ops {
	base := t.TempDir()
	c := config.Default()
	c.Home, c.Scandir = filepath.Join(base, "home"), filepath.Join(base, "service")
	c.Gateway.User = ""
	require.NoError(t, os.MkdirAll(c.Home, 0o755))
	require.NoError(t, volume.Confine(c.Home)) // as the command does
	return &ops.Ops{Config: c, Tools: &s6.Tools{}, Exe: "/bin/false", Wait: 10 * time.Second,
		Now: func() time.Time { return time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC) }}
}

func TestStopWithoutSlotRecordsIntent(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	_, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	require.NoError(t, o.Stop(ctx, "coder"))
	f, err := state.Read(filepath.Join(o.Config.Home, "profiles", "coder", "gateway_state.json"))
	require.NoError(t, err)
	assert.Equal(t, "stopped", f.DesiredState)
	st, err := o.Status(ctx, "coder")
	require.NoError(t, err)
	assert.False(t, st.Registered)
	assert.Nil(t, st.S6)
}

func TestProfileCreateDelete(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	s6test.Start(t, o.Config.Scandir)

	_, err := o.CreateProfile(ctx, "default")
	require.ErrorIs(t, err, ops.ErrExists)
	_, err = o.CreateProfile(ctx, "Bad")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid profile name")

	res, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	assert.True(t, res.Registered)
	assert.FileExists(t, filepath.Join(res.Dir, "profile.toml"))
	_, err = o.CreateProfile(ctx, "coder")
	require.ErrorIs(t, err, ops.ErrExists)

	// A gateway that is wanted up is not deleted.
	slot := filepath.Join(o.Config.Scandir, "gateway-coder")
	require.NoError(t, o.Tools.Publish(o.Config.Scandir, s6.Slot{Name: "gateway-coder", Run: []string{"/bin/sleep", "1000"}}))
	require.NoError(t, o.Tools.Control(ctx, slot, s6.Up, 10*time.Second))
	err = o.DeleteProfile(ctx, "coder")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gateway 'coder' is up: stop it first with `supervisor -p coder gateway stop`")
	require.NoError(t, o.Tools.Control(ctx, slot, s6.Down, 10*time.Second))

	require.NoError(t, o.DeleteProfile(ctx, "coder"))
	assert.NoDirExists(t, slot)
	assert.NoDirExists(t, res.Dir)
	err = o.DeleteProfile(ctx, "coder")
	require.ErrorIs(t, err, ops.ErrNoProfile)
	assert.Contains(t, err.Error(), "create it with `supervisor profile create coder`")
	err = o.DeleteProfile(ctx, "default")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be deleted")

	// Its profile.toml removed and its slot already gone (the registrar's
	// doing): the directory left behind, state and all, is still deleted.
	res, err = o.CreateProfile(ctx, "left")
	require.NoError(t, err)
	require.NoError(t, o.Stop(ctx, "left"))
	require.NoError(t, os.Remove(filepath.Join(res.Dir, "profile.toml")))
	require.NoError(t, s6.Remove(o.Config.Scandir, "gateway-left"))
	assert.FileExists(t, filepath.Join(res.Dir, "gateway_state.json"))
	st, err := o.Status(ctx, "left")
	require.NoError(t, err, "status still shows what is left")
	assert.Contains(t, st.Notes, ops.NoteOrphan)
	assert.Equal(t, "stopped", st.DesiredState)
	require.NoError(t, o.DeleteProfile(ctx, "left"))
	assert.NoDirExists(t, res.Dir)
	err = o.DeleteProfile(ctx, "left")
	require.ErrorIs(t, err, ops.ErrNoProfile)

	// A symlink in its place is not a leftover directory.
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(o.Config.Home, "profiles", "link")))
	require.ErrorIs(t, o.DeleteProfile(ctx, "link"), ops.ErrNoProfile)
	assert.DirExists(t, outside)
}

// A symlinked profiles/ is never followed by create: nothing is made where
// it points.
func TestCreateRefusesSymlinkedProfiles(t *testing.T) {
	o := newOps(t)
	elsewhere := t.TempDir()
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(o.Config.Home, "profiles")))
	_, err := o.CreateProfile(context.Background(), "coder")
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(o.Config.Home, "profiles"))
	ents, err := os.ReadDir(elsewhere)
	require.NoError(t, err)
	assert.Empty(t, ents)
}

// Delete renames the directory aside in one step; what a killed delete
// left is removed by the next create, which never adopts it.
func TestDeleteIsOneStep(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	_, err := o.CreateProfile(ctx, "coder")
	require.NoError(t, err)
	leftover := filepath.Join(o.Config.Home, "profiles", ".deleted-coder-x")
	require.NoError(t, os.MkdirAll(filepath.Join(leftover, "state"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(leftover, "state", "old"), []byte("x"), 0o644))
	require.NoError(t, o.DeleteProfile(ctx, "coder"))
	assert.NoDirExists(t, filepath.Join(o.Config.Home, "profiles", "coder"))
	assert.NoDirExists(t, leftover, "swept by the delete")
	names, _, err := o.ListProfiles()
	require.NoError(t, err)
	assert.Equal(t, []string{"default"}, names)

	// A directory with content that is not a profile is not adopted.
	stray := filepath.Join(o.Config.Home, "profiles", "stray")
	require.NoError(t, os.MkdirAll(filepath.Join(stray, "state"), 0o755))
	_, err = o.CreateProfile(ctx, "stray")
	assert.ErrorContains(t, err, "exists and is not an empty directory, nor a profile")
	assert.NoFileExists(t, filepath.Join(stray, "profile.toml"))
}
