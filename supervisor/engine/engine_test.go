package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
)

func conf(t *testing.T) config.Config {
	c := config.Default()
	c.Home = t.TempDir()
	return c
}

var always = func() string {
	p, err := filepath.Abs(filepath.Join("..", "..", "policies", "examples", "always", "always.wasm"))
	if err != nil {
		panic(err)
	}
	return p
}()

// One engine per distinct setting: the same module under two paths is one
// engine; other parameters or limits are another.
func TestPoolKeysByDigestAndSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := engine.NewPool(nil)
	defer pool.Close(ctx)
	c := conf(t)
	copyPath := filepath.Join(t.TempDir(), "copy.wasm")
	b, err := os.ReadFile(always)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copyPath, b, 0o644))

	def1, err := pool.For(ctx, c)
	require.NoError(t, err)
	def2, err := pool.For(ctx, c)
	require.NoError(t, err)
	assert.Same(t, def1, def2, "the same setting shares one engine")

	a := c
	a.Policy.Module = always
	e1, err := pool.For(ctx, a)
	require.NoError(t, err)
	assert.NotSame(t, def1, e1)
	a2 := a
	a2.Policy.Params = map[string]any{"multiplex_profiles": true}
	e2, err := pool.For(ctx, a2)
	require.NoError(t, err)
	assert.NotSame(t, e1, e2, "other parameters: another engine")
	a3 := a
	a3.Policy.Timeout = config.Duration(50e6)
	e3, err := pool.For(ctx, a3)
	require.NoError(t, err)
	assert.NotSame(t, e1, e3, "other limits: another engine")

	r, err := e1.Decide(ctx, &hostabi.Input{Kind: hostabi.KindBoot, Profile: "x", State: hostabi.StateStopped, Desired: hostabi.StateStopped})
	require.NoError(t, err)
	assert.Equal(t, hostabi.ActionStart, r.Decision.Action, "the always module decided")
}

// A module path that is a FIFO is refused at once, never waited on.
func TestPoolRefusesFIFOModule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := engine.NewPool(nil)
	defer pool.Close(ctx)
	c := conf(t)
	c.Policy.Module = filepath.Join(t.TempDir(), "fifo.wasm")
	require.NoError(t, syscall.Mkfifo(c.Policy.Module, 0o644))
	c.Policy.OnError = config.OnErrorFail
	_, err := pool.For(ctx, c)
	require.Error(t, err)
	assert.ErrorContains(t, err, "fifo.wasm")
}

// Lazy opens nothing until a decision is asked for.
func TestLazyOpensOnFirstDecision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := conf(t)
	c.Policy.Module = filepath.Join(t.TempDir(), "later.wasm") // missing for now
	c.Policy.OnError = config.OnErrorFail
	l, err := engine.NewLazy(c, nil)
	require.NoError(t, err, "nothing is read before the first decision")
	b, err := os.ReadFile(always)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(c.Policy.Module, b, 0o644))
	r, err := l.Decide(ctx, &hostabi.Input{Kind: hostabi.KindBoot, Profile: "x"})
	require.NoError(t, err)
	assert.Equal(t, hostabi.ActionStart, r.Decision.Action)
	assert.NoError(t, l.Close(ctx))
}

type failing struct{}

func (failing) Decide(context.Context, *hostabi.Input) (policy.Result, error) {
	return policy.Result{}, errors.New("module exploded")
}

// Decide never loses a decision: a failing engine is answered by the
// native fallback, and the result says so.
func TestDecideFallsBack(t *testing.T) {
	t.Parallel()
	r := engine.Decide(context.Background(), failing{}, hostabi.Input{Kind: hostabi.KindShutdown, Trigger: hostabi.TriggerSignal,
		Signal: 15, State: hostabi.StateRunning, Phase: hostabi.PhaseRunning}, nil)
	assert.True(t, r.Failed)
	assert.True(t, r.Fallback)
	assert.Equal(t, "module exploded", r.FallbackReason)
	assert.Equal(t, policy.FallbackIdentity, r.DecidedBy())
	assert.Equal(t, hostabi.StateRunning, r.Decision.State, "a plain signal persists running")
}

// Root never loads compiled code from a cache someone else could write:
// a cache directory (or one above it) of the gateway user's is not used.
func TestRootRefusesAPlantedCache(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test checks what root does: run it as root (tests/run.sh does)")
	}
	c := conf(t)
	c.Policy.CacheDir = filepath.Join(t.TempDir(), "cache")
	require.NoError(t, os.MkdirAll(c.Policy.CacheDir, 0o755))
	require.NoError(t, os.Chown(c.Policy.CacheDir, 10000, 10000)) // planted, or handed out
	var log strings.Builder
	o, err := engine.Options(c, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	assert.Empty(t, o.CacheDir, "compiles afresh")
	assert.Contains(t, log.String(), "belongs to uid 10000, not root")

	good := conf(t)
	good.Policy.CacheDir = filepath.Join(t.TempDir(), "cache")
	o, err = engine.Options(good, nil)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(good.Policy.CacheDir, "uid-0"), o.CacheDir)
	fi, err := os.Stat(o.CacheDir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	require.NoError(t, engine.PrepareCacheDir(good, 10000, 10000))
	fi, err = os.Stat(filepath.Join(good.Policy.CacheDir, "uid-10000"))
	require.NoError(t, err)
	assert.Equal(t, uint32(10000), fi.Sys().(*syscall.Stat_t).Uid, "the gateway user's own cache")
	assert.Error(t, engine.PrepareCacheDir(c, 10000, 10000), "never under a base that is not root's")
}
