package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// TestOnErrorFailMissingModule: with policy.on_error = "fail" and a module
// that is missing, run starts no gateway and exits 111 naming the module;
// finish then keeps the slot down without asking a policy (s6 does not
// retry every second); the journal says no policy decided; no log line
// speaks of a fallback.
func TestOnErrorFailMissingModule(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "mypolicy.wasm")
	e := newEnv(t, profile.Root, nil, `stop_grace = "5s"`+"\n"+`ready_after = "1h"`)
	cfg, err := os.ReadFile(e.cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.cfg, append(cfg, []byte("[policy]\nmodule = \""+missing+"\"\non_error = \"fail\"\n")...), 0o644))

	s := e.start()
	assert.Equal(t, ExitTemporary, s.wait(t), s.stderr.String())
	out := s.stderr.String()
	assert.Contains(t, out, "not starting the gateway")
	assert.Contains(t, out, missing)
	assert.NotContains(t, out, "fallback", "no log line contradicts on_error = fail")
	_, err = os.Stat(e.events)
	assert.ErrorIs(t, err, os.ErrNotExist, "no gateway was started")

	f := e.state()
	assert.Equal(t, "startup_failed", f.GatewayState)
	assert.Contains(t, f.Reason, missing)
	assert.Contains(t, f.Reason, `policy.on_error is "fail"`)
	assert.Empty(t, f.Policy, "no policy decided")

	cmdOut, code := e.finishOutput(ExitTemporary, 0)
	assert.Equal(t, 125, code, "finish keeps the slot down: the module will not appear by itself")
	assert.NotContains(t, cmdOut, "fallback")
	assert.Empty(t, e.history(), "not a gateway exit: the crash history is untouched")

	es, _, err := journal.Read(e.p.Journal)
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, "exit", es[0].Kind.String())
	assert.Equal(t, OutcomeNotStarted, es[0].Outcome)
	assert.True(t, strings.Contains(es[0].Refused, missing), es[0].Refused)
	assert.Contains(t, journal.Explain(es[0], nil, nil, false), "exit: gateway not started: policy module "+missing)
}
