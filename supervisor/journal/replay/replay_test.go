package replay

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
)

func entries() []journal.Entry {
	now := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	in := hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "coder", ExitCode: 1, Params: hostabi.Params{}}
	return []journal.Entry{
		{Time: now, Profile: "coder", Kind: hostabi.KindExit, Input: in, Policy: "default@3f2a9c1b",
			Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Reason: "exited 1: restart"}},
		{Time: now, Profile: "coder", Kind: hostabi.KindExit, Input: in, Policy: "default@3f2a9c1b", Fallback: true,
			Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning}},
		{Time: now, Profile: "coder", Kind: hostabi.KindExit, Input: in, Refused: "open /m.wasm: no such file or directory",
			Decision: hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStartupFailed}},
	}
}

// TestCaptureNamesItsModule: the captured file names the module given, so
// that it is tested against it as written; entries no policy decided and
// the fallback's are left out.
func TestCaptureNamesItsModule(t *testing.T) {
	c, err := Capture(entries(), policy.EmbeddedSource, "a header\non two lines")
	require.NoError(t, err)
	assert.Equal(t, 1, c.Scenarios)
	assert.Equal(t, 1, c.Fallback)
	assert.Equal(t, 1, c.Refused)
	path := filepath.Join(t.TempDir(), "incident.toml")
	require.NoError(t, os.WriteFile(path, c.File, 0o644))
	f, err := fixture.Load(path)
	require.NoError(t, err, string(c.File))
	assert.Equal(t, policy.EmbeddedSource, f.Policy)
	require.Len(t, f.Scenarios, 1)

	r := &fixture.Runner{}
	defer r.Close(context.Background())
	rep, err := r.Run(context.Background(), []string{path})
	require.NoError(t, err)
	assert.True(t, rep.OK(), "passes as written against the module that recorded it: %+v", rep.Results)

	c, err = Capture(entries(), "", "h")
	require.NoError(t, err)
	assert.NotContains(t, string(c.File), "policy =")
}

func TestReplayLeavesOutRefused(t *testing.T) {
	eng, err := policy.Open(context.Background(), policy.Options{OnError: "fail"})
	require.NoError(t, err)
	defer eng.Close(context.Background())
	rep := Replay(context.Background(), eng, entries())
	assert.Len(t, rep.Rows, 2)
	assert.Equal(t, 2, rep.Same)
	assert.Equal(t, 0, rep.Changed)
}
