package registrar_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/registrar"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// hermesUID is the gateway user the tests give slots to.
const hermesUID = 10000

type env struct {
	home, scandir string
	conf          config.Config
	log           *s6test.Buffer
	tools         *s6.Tools
}

// newEnv makes a home owned by the gateway user and a scan directory with
// a real s6-svscan on it.
func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the registrar runs as root and gives slots to the hermes user (uid 10000): run these tests as root")
	}
	base := t.TempDir()
	s6test.OpenUp(t, base)
	e := &env{home: filepath.Join(base, "home"), scandir: filepath.Join(base, "service"), log: &s6test.Buffer{}, tools: &s6.Tools{}}
	require.NoError(t, os.MkdirAll(e.home, 0o755))
	require.NoError(t, os.Chown(e.home, hermesUID, hermesUID))
	require.NoError(t, volume.Confine(e.home)) // as the command does
	s6test.Start(t, e.scandir)
	e.conf = config.Default()
	e.conf.Home, e.conf.Scandir = e.home, e.scandir
	e.conf.Gateway.User = "hermes"
	return e
}

func (e *env) registrar() *registrar.Registrar {
	return registrar.New(registrar.Options{Config: e.conf, Tools: e.tools, Exe: "/bin/false", Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{ReplaceAttr: noTime})), Interval: time.Hour})
}

// profile makes profiles/name with a profile.toml, as the gateway user would.
func (e *env) profile(t *testing.T, name, toml string) string {
	t.Helper()
	dir := filepath.Join(e.home, "profiles", name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "profile.toml"), []byte(toml), 0o644))
	return dir
}

func (e *env) slot(name string) string { return filepath.Join(e.scandir, "gateway-"+name) }

func owner(t *testing.T, p string) uint32 {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Uid
}

func TestPublishesProfileCreatedAfterStart(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	r := registrar.New(registrar.Options{Config: e.conf, Tools: e.tools, Exe: "/bin/false", Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{ReplaceAttr: noTime})),
		Interval: time.Hour, // only the watch can notice
		Ready:    func() { close(ready) }})
	go func() { done <- r.Run(ctx) }()
	<-ready
	// The first pass registered the root profile.
	assert.DirExists(t, e.slot("default"))

	// profiles/ does not exist yet: the watch on the home sees it appear.
	e.profile(t, "coder", "")
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(e.slot("coder"), "supervise", "status"))
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "no slot for coder, or s6 never scanned it; log:\n%s", e.log.String())
	assert.FileExists(t, filepath.Join(e.slot("coder"), "down"))
	assert.Equal(t, uint32(hermesUID), owner(t, filepath.Join(e.slot("coder"), "supervise", "control")), "supervise/control belongs to the gateway user")
	assert.Equal(t, uint32(hermesUID), owner(t, filepath.Join(e.home, "logs", "gateways", "coder")), "the log directory belongs to the gateway user")
	st, err := e.tools.Status(ctx, e.slot("coder"))
	require.NoError(t, err)
	assert.False(t, st.Up || st.WantedUp, "registered down: %+v", st)

	// A second profile, in a profiles/ that exists now.
	e.profile(t, "writer", "")
	// The slot appears (renamed into place) just before the line is logged.
	require.Eventually(t, func() bool {
		_, err := os.Stat(e.slot("writer"))
		return err == nil && strings.Contains(e.log.String(), `msg="registrar: published (down)" slot=gateway-writer`+"\n")
	}, 20*time.Second, 20*time.Millisecond, "no slot for writer, or it was not logged; log:\n%s", e.log.String())

	cancel()
	require.NoError(t, <-done, "Run ends cleanly when its context ends")
}

func TestRemovesSlotOfDeletedDownProfile(t *testing.T) {
	e := newEnv(t)
	r := e.registrar()
	dir := e.profile(t, "old", "")
	rep, err := r.Pass(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"gateway-default", "gateway-old"}, rep.Published)
	require.DirExists(t, e.slot("old"))

	require.NoError(t, os.RemoveAll(dir))
	rep, err = r.Pass(context.Background())
	require.NoError(t, err)
	assert.Empty(t, rep.Published)
	assert.Equal(t, []string{"gateway-old"}, rep.Removed)
	assert.NoDirExists(t, e.slot("old"))
	assert.DirExists(t, e.slot("default"), "the root profile always exists")
}

func TestLeavesUpSlotAlone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	require.NoError(t, e.tools.Publish(e.scandir, s6.Slot{Name: "gateway-ghost", Run: []string{"/bin/sleep", "1000"}}))
	require.NoError(t, e.tools.Rescan(ctx, e.scandir, false))
	require.NoError(t, e.tools.Wait(ctx, e.slot("ghost"), 'u', 20*time.Second))

	r := e.registrar()
	for range 2 {
		rep, err := r.Pass(ctx)
		require.NoError(t, err)
		assert.Empty(t, rep.Removed)
	}
	assert.DirExists(t, e.slot("ghost"))
	st, err := e.tools.Status(ctx, e.slot("ghost"))
	require.NoError(t, err)
	assert.True(t, st.Up, "the registrar never stops a gateway")
	assert.Equal(t, 1, strings.Count(e.log.String(), "slot gateway-ghost: its profile is gone but its gateway is up; left alone"), e.log.String())
	require.NoError(t, e.tools.Control(ctx, e.slot("ghost"), s6.Down, 20*time.Second))
}

func TestIgnoresWhatIsNotAProfile(t *testing.T) {
	e := newEnv(t)
	e.profile(t, "Bad", "")
	target := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(target, "profile.toml"), nil, 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(e.home, "profiles", "link")))
	e.profile(t, "root", "[gateway]\nuser = \"root\"\ncommand = [\"/bin/sh\", \"-c\", \"id\"]\n")
	e.profile(t, "broken", "[gateway\n")
	e.profile(t, "good", "")
	// Not the registrar's: left alone whatever it holds.
	require.NoError(t, os.MkdirAll(filepath.Join(e.scandir, "other-service"), 0o755))

	r := e.registrar()
	for range 3 {
		rep, err := r.Pass(context.Background())
		require.NoError(t, err)
		assert.NotContains(t, rep.Removed, "other-service")
	}
	log := e.log.String()
	for _, want := range []string{"profiles/Bad: invalid profile name", "profiles/link: is a symlink", "gateway.user in ", "may only be set in hermes.toml", "profile broken: config: "} {
		assert.Equal(t, 1, strings.Count(log, want), "%q logged once:\n%s", want, log)
	}
	for _, n := range []string{"Bad", "link", "root", "broken"} {
		assert.NoDirExists(t, e.slot(n))
	}
	assert.DirExists(t, e.slot("good"))
	assert.DirExists(t, filepath.Join(e.scandir, "other-service"))
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		assert.Regexp(t, `^level=(INFO|WARN) msg="registrar: `, l, "one record each")
	}
}

// A symlinked logs/ on the volume would make root create and hand out a
// directory elsewhere: refused.
func TestRefusesSymlinkedLogDirectory(t *testing.T) {
	e := newEnv(t)
	elsewhere := t.TempDir()
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(e.home, "logs")))
	e.profile(t, "coder", "")
	rep, err := e.registrar().Pass(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, rep.Published, "gateway-coder")
	assert.Contains(t, e.log.String(), "is a symlink or not a directory")
	assert.NoDirExists(t, filepath.Join(elsewhere, "gateways"))
}

// noTime drops the time from log records, so they read the same every run.
func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
