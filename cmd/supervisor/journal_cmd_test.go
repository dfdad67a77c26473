package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
)

// crashloopWasm builds the crashloop example once per test binary.
var crashloopWasm = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "crashloop-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "crashloop.wasm")
	return out, build.Build(context.Background(), filepath.Join("..", "..", "policies", "examples", "crashloop"), out)
})

// recordJournal boots a simulated container as root, then makes the
// gateway user's finish decide five crashes of profile coder, all with the
// default policy: a journal of 2 boot and 5 exit decisions.
func recordJournal(t *testing.T) *env {
	e := newEnv(t)
	e.ok(0, "profile", "create", "coder")
	require.NoError(t, os.WriteFile(e.paths("coder").State, []byte(`{"gateway_state":"running","desired_state":"running"}`), 0o644))
	e.ok(0, "boot", "--dry-run")
	_, err := os.Stat(e.paths("coder").Journal)
	require.ErrorIs(t, err, os.ErrNotExist, "boot --dry-run journalled")
	e.ok(0, "boot")
	for range 5 {
		r := e.cli(10000, "-p", "coder", "finish", "1", "0")
		require.Equal(t, 0, r.code, r.stderr)
		require.NotContains(t, r.stderr, "journal", "the gateway user cannot append to the journal boot created")
	}
	return e
}

func TestJournalReplayCapture(t *testing.T) {
	e := recordJournal(t)
	p := e.paths("coder")
	es, warns, err := journal.Read(p.Journal)
	require.NoError(t, err)
	require.Empty(t, warns)
	require.Len(t, es, 6)
	assert.Equal(t, "boot", es[0].Kind.String())
	assert.Equal(t, "boot", es[0].Source)
	assert.Equal(t, "started", es[0].Outcome)
	assert.Len(t, es[0].Digest, 64)
	assert.True(t, strings.HasPrefix(es[0].Policy, "default@"+es[0].Digest[:8]), es[0].Policy)
	_, ok := es[0].Input.Params.Lookup("multiplex_profiles")
	assert.True(t, ok, "the params the policy saw are journalled")
	for _, x := range es[1:] {
		assert.Equal(t, "exit", x.Kind.String())
		assert.Equal(t, "finish", x.Source)
		assert.Equal(t, "restart", x.Decision.Action.String())
		assert.Zero(t, x.Decision.Delay)
	}
	assert.Len(t, es[5].Input.History, 4, "each decision saw the exits before it")

	t.Run("explain", func(t *testing.T) {
		r := e.ok(0, "-p", "coder", "explain", "--last", "3")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 3, r.stdout)
		for _, l := range lines {
			assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d exit: restart at once because the gateway exited with code 1 \(\d earlier exits? by itself since \d\d:\d\d\); policy default@[0-9a-f]{8}: exited 1: restart$`, l)
		}
		r = e.ok(0, "explain", "--all", "--output", "json")
		var all []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &all))
		require.Len(t, all, 7)
		assert.Equal(t, "boot", all[6]["kind"], "newest first")
		assert.Contains(t, r.stdout, `"text": `)
		in := all[0]["input"].(map[string]any)
		assert.IsType(t, "", in["uptime"], "durations in the fixture notation")
		assert.IsType(t, "", all[0]["decision"].(map[string]any)["delay"])
		r = e.ok(0, "explain", "--all")
		assert.Contains(t, r.stdout, " default boot: registered down because no state was recorded; policy default@")
		assert.Contains(t, r.stdout, " coder boot: started because desired_state=running; policy default@")
	})

	t.Run("replay-same-module", func(t *testing.T) {
		r := e.cli(0, "policy", "replay", "--policy", "embedded:default", "--all")
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, `^ok: 7 decisions replayed against default@[0-9a-f]{8}: 0 would change, 0 the candidate cannot make, 7 unchanged\n$`, r.stdout)
	})

	wasm, err := crashloopWasm()
	require.NoError(t, err, "build the crashloop example")

	t.Run("replay-crashloop", func(t *testing.T) {
		r := e.cli(0, "-p", "coder", "policy", "replay", "--policy", wasm)
		assert.Equal(t, 1, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 7, r.stdout) // header, 5 changed exits, summary
		assert.Equal(t, "PROFILE\tTIME\tDECISION\tRECORDED\tCANDIDATE", lines[0])
		want := []string{
			"restart state=running delay=1s (crash 1 in a row: restart in 1s)",
			"restart state=running delay=2s (crash 2 in a row: restart in 2s)",
			"restart state=running delay=4s (crash 3 in a row: restart in 4s)",
			"restart state=running delay=8s (crash 4 in a row: restart in 8s)",
			"stop state=stopped (crash loop: 5 crashes within 10m0s: stop)",
		}
		for i, w := range want {
			f := strings.Split(lines[1+i], "\t")
			require.Len(t, f, 5, lines[1+i])
			assert.Equal(t, "coder", f[0])
			assert.Equal(t, "exit", f[2])
			assert.Equal(t, "restart state=running (exited 1: restart)", f[3])
			assert.Equal(t, w, f[4])
		}
		assert.Regexp(t, `^CHANGES: 6 decisions replayed against crashloop@[0-9a-f]{8}: 5 would change, 0 the candidate cannot make, 1 unchanged$`, lines[6])
	})

	t.Run("replay-errors", func(t *testing.T) {
		r := e.cli(0, "policy", "replay", "--policy", filepath.Join(t.TempDir(), "missing.wasm"))
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, "missing.wasm")
		r = e.cli(0, "policy", "replay")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, "missing --policy MODULE")
		e.ok(0, "profile", "create", "quiet")
		r = e.cli(0, "-p", "quiet", "policy", "replay", "--policy", "embedded:default")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, `no journalled decision for profile "quiet"`)
	})

	t.Run("capture", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "fixtures", "incident.toml")
		require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
		r := e.ok(0, "-p", "coder", "policy", "capture", "--write", out)
		assert.Regexp(t, `captured 6 decisions of default@[0-9a-f]{8} into `+regexp.QuoteMeta(out), r.stderr)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Contains(t, string(b), "policy = \"embedded:default\"", "the file names the module that made the decisions")
		// Unchanged, it passes against the module that recorded it.
		r = e.cli(0, "policy", "test", out)
		assert.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stdout, "6 scenarios: 6 passed, 0 failed, 0 errors")
		r = e.cli(0, "policy", "test", out, "--policy", wasm)
		assert.Equal(t, 1, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stdout, "6 scenarios: 1 passed, 5 failed, 0 errors")

		r = e.ok(0, "-p", "coder", "policy", "capture", "--last", "2")
		assert.Equal(t, 2, strings.Count(r.stdout, "[[scenario]]"), r.stdout)
		r = e.cli(0, "-p", "coder", "policy", "capture", "-o", out)
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, "write the file with --write "+out)
	})
}
