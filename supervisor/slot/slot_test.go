package slot_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
)

func conf(t *testing.T) config.Config {
	c := config.Default()
	c.Home = t.TempDir()
	c.Scandir = "/run/service"
	c.File = "/etc/hermes/hermes.toml"
	c.Gateway.StopGrace = config.Duration(7 * time.Second)
	return c
}

func TestGlobalPinsEveryPath(t *testing.T) {
	t.Parallel()
	c := conf(t)
	g, err := slot.Global(c, "/usr/local/bin/supervisor")
	require.NoError(t, err)
	assert.Equal(t, slot.Args{"/usr/local/bin/supervisor", "--config", "/etc/hermes/hermes.toml", "--home", c.Home, "--scandir", "/run/service"}, g)
	_, err = slot.Global(c, "supervisor")
	assert.ErrorContains(t, err, `supervisor binary "supervisor" is not an absolute path`)
}

func TestGatewaySlot(t *testing.T) {
	t.Parallel()
	c := conf(t)
	p, err := profile.For(c.Home, "coder")
	require.NoError(t, err)
	g, err := slot.Global(c, "/sup")
	require.NoError(t, err)
	owner := &s6.Owner{UID: 10000, GID: 10000}
	s, err := slot.Gateway(c, p, g, owner, true)
	require.NoError(t, err)
	assert.Equal(t, "gateway-coder", s.Name)
	assert.Equal(t, []string{"/sup", "--config", "/etc/hermes/hermes.toml", "--home", c.Home, "--scandir", "/run/service", "run", "-p", "coder", "--notify-fd", "3", "--verdict", "/run/service/gateway-coder/verdict"}, s.Run)
	assert.True(t, s.Verdict, "finish follows run's verdict from the slot's file")
	assert.Equal(t, []string{"/sup", "--config", "/etc/hermes/hermes.toml", "--home", c.Home, "--scandir", "/run/service", "finish", "-p", "coder"}, s.Finish)
	assert.Equal(t, 12*time.Second, s.TimeoutKill, "stop_grace + StopMargin")
	assert.Equal(t, "hermes", s.User)
	assert.Equal(t, owner, s.Owner)
	assert.True(t, s.Down)
	assert.Equal(t, filepath.Join(c.Home, "logs", "gateways", "coder"), s.LogDir)
	g[0] = "/changed"
	assert.Equal(t, "/sup", s.Run[0], "a slot does not share the global arguments' array")
}

func TestGatewaySlotRefusesSymlinkedLogs(t *testing.T) {
	t.Parallel()
	c := conf(t)
	require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(c.Home, "logs")))
	p, err := profile.For(c.Home, "coder")
	require.NoError(t, err)
	_, err = slot.Gateway(c, p, slot.Args{"/sup"}, nil, false)
	assert.ErrorContains(t, err, filepath.Join(c.Home, "logs")+" is a symlink or not a directory")
}

func TestOwnerFor(t *testing.T) {
	t.Parallel()
	c := conf(t)
	asked := 0
	lookup := func(name string) (*s6.Owner, error) { asked++; return &s6.Owner{UID: 1, GID: 2}, nil }
	o, err := slot.OwnerFor(c, false, lookup)
	assert.NoError(t, err)
	assert.Nil(t, o, "not root: nothing to give away")
	o, err = slot.OwnerFor(c, true, lookup)
	assert.NoError(t, err)
	assert.Equal(t, &s6.Owner{UID: 1, GID: 2}, o)
	c.Gateway.User = ""
	o, err = slot.OwnerFor(c, true, lookup)
	assert.NoError(t, err)
	assert.Nil(t, o, "no gateway user: the slot stays root's")
	assert.Equal(t, 1, asked)
}

func TestRegistrarSlot(t *testing.T) {
	t.Parallel()
	c := conf(t)
	s, err := slot.Registrar(c, "/sup")
	require.NoError(t, err)
	assert.Equal(t, slot.RegistrarName, s.Name)
	assert.Equal(t, "/run/hermes-registrar", s.LogDir, "beside the scan directory, never on the volume")
	assert.Empty(t, s.User, "the registrar runs as root")
	assert.Equal(t, []string{"registrar", "--notify-fd", "3"}, s.Run[len(s.Run)-3:])
}

func TestLookupOwnerUnknownUser(t *testing.T) {
	t.Parallel()
	_, err := slot.LookupOwner("no-such-user-hermes-test")
	assert.ErrorContains(t, err, `gateway.user "no-such-user-hermes-test": no such user`)
}
