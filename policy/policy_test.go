package policy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/wattest"
)

func TestModuleAnswersEveryKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := module(t, "modules", "mimic")
	wasm, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(wasm)
	log, logs := newLogger()
	e, err := policy.Open(ctx, policy.Options{Module: path, SHA256: hex.EncodeToString(sum[:]), Logger: log, OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	assert.Equal(t, "mimic@"+hex.EncodeToString(sum[:])[:8], e.Identity())
	assert.Equal(t, hex.EncodeToString(sum[:]), e.Digest())
	assert.Equal(t, "1.0.0", e.Metadata().Version)
	assert.NoError(t, e.LoadError())

	multiplex := hostabi.Params{{Key: "multiplex_profiles", Type: hostabi.ParamBool, Bool: true}}
	cases := []struct {
		name string
		in   hostabi.Input
	}{
		{"boot running", hostabi.Input{Kind: hostabi.KindBoot, Profile: "coder", State: hostabi.StateRunning}},
		{"boot desired stopped wins", hostabi.Input{Kind: hostabi.KindBoot, Profile: "coder", State: hostabi.StateRunning, Desired: hostabi.StateStopped}},
		{"boot multiplex named", hostabi.Input{Kind: hostabi.KindBoot, Profile: "coder", State: hostabi.StateRunning, Params: multiplex}},
		{"boot multiplex root", hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true, State: hostabi.StateRunning, Params: multiplex}},
		{"shutdown signal", hostabi.Input{Kind: hostabi.KindShutdown, Trigger: hostabi.TriggerSignal, Signal: 15}},
		{"shutdown operator", hostabi.Input{Kind: hostabi.KindShutdown, Trigger: hostabi.TriggerOperator, Signal: 15}},
		{"exit killed", hostabi.Input{Kind: hostabi.KindExit, Signal: 9, ExitCode: -1}},
		{"exit 1", hostabi.Input{Kind: hostabi.KindExit, ExitCode: 1}},
		{"exit 78", hostabi.Input{Kind: hostabi.KindExit, ExitCode: 78}},
		{"boot seeds on first boot (1.1)", hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true, NoStateFile: true,
			Params: hostabi.Params{{Key: hostabi.ParamBootstrapState, Type: hostabi.ParamString, Str: "running"}}}},
		{"boot seeds for the legacy command (1.1)", hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true, NoStateFile: true, LegacyCommand: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := e.Decide(ctx, &c.in)
			require.NoError(t, err)
			assert.False(t, res.Fallback, res.FallbackReason)
			assert.Equal(t, e.Identity(), res.Policy)
			assert.Equal(t, e.Digest(), res.Digest)
			assert.Equal(t, fallback.Decide(&c.in), res.Decision)
		})
	}
	assert.Empty(t, logs.String())
}

// TestSeedingNeedsABI11: a module speaking ABI 1.0 that names a state in
// a boot decision is refused (the fallback decides), as 1.0 said.
func TestSeedingNeedsABI11(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, err := os.ReadFile(filepath.Join("testdata", "modules", "mimic.wat"))
	require.NoError(t, err)
	old := strings.Replace(string(src), "(i32.const 0x00010001)", "(i32.const 0x00010000)", 1)
	require.NotEqual(t, string(src), old)
	path := filepath.Join(t.TempDir(), "mimic10.wat")
	require.NoError(t, os.WriteFile(path, []byte(old), 0o644))
	e, err := policy.Open(ctx, policy.Options{Wasm: wattest.Compile(t, path), OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	in := hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true, NoStateFile: true, LegacyCommand: true}
	_, err = e.Decide(ctx, &in)
	require.ErrorContains(t, err, "ABI 1.0 seeds no state")
	plain := hostabi.Input{Kind: hostabi.KindBoot, Profile: "default", Root: true, State: hostabi.StateRunning}
	res, err := e.Decide(ctx, &plain)
	require.NoError(t, err)
	assert.Equal(t, hostabi.ActionStart, res.Decision.Action)
}

func TestParamsFromOptionsWhenInputHasNone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	multiplex := hostabi.Params{{Key: "multiplex_profiles", Type: hostabi.ParamBool, Bool: true}}
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "mimic"), Params: multiplex, OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	in := &hostabi.Input{Kind: hostabi.KindBoot, Profile: "coder", State: hostabi.StateRunning}
	res, err := e.Decide(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, hostabi.ActionDown, res.Decision.Action)
	assert.Nil(t, in.Params, "Decide must not modify its input")

	in.Params = hostabi.Params{}
	res, err = e.Decide(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, hostabi.ActionStart, res.Decision.Action, "the input's own parameters win")
}

func TestInstanceReusedThenReplacedAfterFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, logs := newLogger()
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "counter"), Logger: log})
	require.NoError(t, err)
	defer e.Close(ctx)
	reason := func(code int32) policy.Result {
		t.Helper()
		res, err := e.Decide(ctx, exitInput(code))
		require.NoError(t, err)
		return res
	}
	assert.Equal(t, "call 1", reason(1).Decision.Reason)
	assert.Equal(t, "call 2", reason(1).Decision.Reason, "the instance is reused")

	res := reason(99)
	assert.True(t, res.Fallback)
	assert.Contains(t, res.FallbackReason, "unreachable")
	assert.NotContains(t, res.FallbackReason, "\n", "one line: no wasm stack trace")
	assert.True(t, res.Failed)
	assert.Empty(t, res.Digest, "no module answered")
	assert.Equal(t, policy.FallbackIdentity, res.DecidedBy(), "the fallback answered in place of a failed module")
	assert.Equal(t, "call 1", reason(1).Decision.Reason, "a trapped instance is replaced by a fresh one")

	res = reason(98)
	assert.True(t, res.Fallback)
	assert.Contains(t, res.FallbackReason, "timed out after 100ms")
	assert.Equal(t, "call 1", reason(1).Decision.Reason, "a timed-out instance is replaced by a fresh one")
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"), logs.String())

	res = reason(97)
	assert.True(t, res.Fallback)
	assert.Contains(t, res.FallbackReason, "declined")
	assert.False(t, res.Failed)
	assert.Equal(t, e.Identity(), res.DecidedBy(), "a declined decision is the module's choice")
	assert.Equal(t, e.Digest(), res.Digest)
	assert.Equal(t, "call 2", reason(1).Decision.Reason, "declining is no failure: the instance is kept")

	boot := &hostabi.Input{Kind: hostabi.KindBoot, Profile: "coder", State: hostabi.StateRunning}
	res, err = e.Decide(ctx, boot)
	require.NoError(t, err)
	assert.True(t, res.Fallback)
	assert.Contains(t, res.FallbackReason, "does not make boot decisions")
	assert.Equal(t, fallback.Boot(boot), res.Decision)
	assert.Equal(t, e.Identity(), res.DecidedBy())
	assert.Equal(t, e.Digest(), res.Digest)
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"), "undeclared and declined decisions are not failures")
}

func TestSandboxShowsNoWorld(t *testing.T) {
	ctx := context.Background()
	t.Setenv("HERMES_SECRET", "x")
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "sandbox"), OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	res, err := e.Decide(ctx, exitInput(1))
	require.NoError(t, err)
	// epoch clock, no environment, no arguments, no preopened directory, no file opened
	assert.Equal(t, "10011", res.Decision.Reason)
}

func TestPinCheckedBeforeCompiling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	junk := filepath.Join(t.TempDir(), "junk.wasm")
	require.NoError(t, os.WriteFile(junk, []byte("not wasm at all"), 0o644))
	pin := strings.Repeat("ab", 32)

	_, err := policy.Open(ctx, policy.Options{Module: junk, SHA256: pin, OnError: policy.OnErrorFail})
	require.ErrorIs(t, err, policy.ErrDigest, "a pin mismatch is refused before the bytes are compiled")
	assert.Contains(t, err.Error(), junk)

	log, logs := newLogger()
	e, err := policy.Open(ctx, policy.Options{Module: junk, SHA256: pin, Logger: log})
	require.NoError(t, err)
	defer e.Close(ctx)
	require.ErrorIs(t, e.LoadError(), policy.ErrDigest)
	res, err := e.Decide(ctx, exitInput(1))
	require.NoError(t, err)
	assert.True(t, res.Fallback)
	assert.True(t, res.Failed)
	assert.Empty(t, res.Digest, "a refused module answers nothing")
	assert.Equal(t, fallback.Exit(exitInput(1)), res.Decision)
	assert.Contains(t, logs.String(), "does not match the pin")

	_, err = policy.Open(ctx, policy.Options{Module: junk, SHA256: "xyz"})
	assert.ErrorContains(t, err, "not 64 hex digits")
}

// FallbackResult is what a caller answers with when Decide failed under
// OnErrorFail, or no engine could be opened: the same answer an engine
// gives for a failed module under OnErrorFallback, named after the fallback.
func TestFallbackResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "hostile", "trap"), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer e.Close(ctx)
	in := exitInput(3)
	byEngine, err := e.Decide(ctx, in)
	require.NoError(t, err)

	got := policy.FallbackResult(in, errors.New("policy: module failed"))
	assert.Equal(t, policy.Result{Decision: fallback.Exit(in), Policy: policy.FallbackIdentity, Fallback: true,
		FallbackReason: "policy: module failed", Failed: true}, got)
	assert.Equal(t, byEngine.Decision, got.Decision)
	assert.Equal(t, byEngine.Failed, got.Failed)
	assert.Equal(t, byEngine.Digest, got.Digest)
	assert.Equal(t, byEngine.DecidedBy(), got.DecidedBy())
	assert.Equal(t, "no policy engine", policy.FallbackResult(in, nil).FallbackReason)
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := policy.Open(ctx, policy.Options{OnError: "panic"})
	assert.ErrorContains(t, err, `on_error "panic"`)
	_, err = policy.Open(ctx, policy.Options{MemoryLimit: 100})
	assert.ErrorContains(t, err, "less than one 64 KiB page")
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "mimic")})
	require.NoError(t, err)
	defer e.Close(ctx)
	_, err = e.Decide(ctx, &hostabi.Input{Kind: 7})
	assert.ErrorContains(t, err, "kind 7")

	require.NoError(t, e.Close(ctx))
	res, err := e.Decide(ctx, exitInput(1))
	require.NoError(t, err, "a closed engine still answers, with the fallback")
	assert.True(t, res.Fallback)
	assert.Contains(t, res.FallbackReason, "engine closed")
}

func TestNoEmbeddedDefault(t *testing.T) {
	ctx := context.Background()
	saved := policy.Default
	policy.Default = nil
	defer func() { policy.Default = saved }()
	_, err := policy.Open(ctx, policy.Options{OnError: policy.OnErrorFail})
	require.ErrorIs(t, err, policy.ErrNoModule)

	policy.Default = mustRead(t, module(t, "modules", "mimic"))
	e, err := policy.Open(ctx, policy.Options{OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	assert.Equal(t, policy.EmbeddedSource, e.Source())
	assert.True(t, strings.HasPrefix(e.Identity(), "mimic@"))
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestInspect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	info := policy.Inspect(ctx, mustRead(t, module(t, "modules", "sandbox")))
	require.NoError(t, info.Problem)
	assert.Equal(t, uint32(0x00010000), info.ABI)
	require.NotNil(t, info.Metadata)
	assert.Equal(t, "sandbox", info.Metadata.Name)
	assert.Contains(t, info.Imports, "wasi_snapshot_preview1.clock_time_get")
	assert.Contains(t, info.Exports, "hermes_decide (i32, i32, i32) -> (i64)")
	assert.Contains(t, info.Exports, "memory: memory")
	assert.Len(t, info.SHA256, 64)

	bad := policy.Inspect(ctx, mustRead(t, module(t, "hostile", "wrongabi")))
	assert.ErrorIs(t, bad.Problem, policy.ErrABI)
	assert.Equal(t, uint32(0x00020000), bad.ABI, "the version is shown even when refused")

	dup := policy.Inspect(ctx, mustRead(t, module(t, "hostile", "dupimport")))
	assert.Equal(t, []string{"wasi_snapshot_preview1.clock_time_get", "wasi_snapshot_preview1.fd_write"}, dup.Imports,
		"each import once, sorted")

	junk := policy.Inspect(ctx, []byte("junk"))
	assert.ErrorContains(t, junk.Problem, "not a WebAssembly module")
	assert.Equal(t, 4, junk.Size)
}

func TestConcurrentDecisionsAreSerialised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "mimic"), OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 50 {
				in := exitInput(int32(g*100 + i))
				res, err := e.Decide(ctx, in)
				if err == nil && res.Decision != fallback.Exit(in) {
					err = assert.AnError
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		assert.NoError(t, <-errs)
	}
}
