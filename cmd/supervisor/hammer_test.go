package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/s6/s6test"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// TestGatewayCommandHammer: several processes run `gateway stop`, `start`
// and `restart` on the same profile at once against a real s6, for a
// bounded number of rounds. Every command either succeeds or fails with
// one clear line (a timeout must say it timed out). Then one final command
// runs alone, and what is persisted and what s6 says must agree with it:
//
//   - stop: s6 down and wanted down; desired_state stopped; the boot
//     decision on this volume is to keep it down; when the gateway was up
//     before the final stop, gateway_state stopped by an operator's stop.
//   - start, restart: s6 up, ready, wanted up; desired_state and
//     gateway_state running; the boot decision is to start it.
//
// In every case the state file, the lifecycle ledger and the exit history
// read whole, no temporary file is left in the profile, and no planned-stop
// marker is left naming a process that is gone.
func TestGatewayCommandHammer(t *testing.T) {
	t.Parallel() // its own volume, scan directory and s6-svscan
	const workers = 5
	rounds := testenv.Trials(t, 1, 8)
	e := newEnv(t)
	e.ok(0, "boot")
	s6test.Start(t, e.scandir)
	e.ok(0, "profile", "create", "coder")
	p := e.paths("coder")
	commands := []string{"start", "stop", "restart"}
	rng := rand.New(rand.NewPCG(testenv.Seed(t), 6))
	failures := map[string]int{}
	var ran, failed int
	for cycle, final := range []string{"stop", "restart", "start", "stop"} {
		plan := make([][]string, workers)
		for w := range plan {
			for range rounds {
				plan[w] = append(plan[w], commands[rng.IntN(len(commands))])
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, c := range plan[w] {
					r := e.cliWithin(120*time.Second, "-p", "coder", "gateway", c, "--wait", "10s")
					mu.Lock()
					ran++
					if r.code != 0 {
						failed++
						failures[c+": "+scrub(r.stderr, e)]++
					}
					mu.Unlock()
					assert.NotContains(t, r.stderr, "goroutine", "gateway %s", c)
					assert.NotContains(t, r.stderr, "panic", "gateway %s", c)
					if r.code != 0 {
						assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "gateway %s fails in one line: %q", c, r.stderr)
						assert.True(t, clearUnderContention(r.stderr), "gateway %s: an unexpected error: %q", c, r.stderr)
					}
				}
			}()
		}
		wg.Wait()

		before := e.status(0, "coder")
		e.ok(0, "-p", "coder", "gateway", final)
		st := e.status(0, "coder")
		require.NotNil(t, st.S6, st.S6Error)
		f, err := state.Read(p.State)
		require.NoError(t, err, "cycle %d: the state file is torn", cycle)
		_, _, err = state.ReadLedger(p.Ledger)
		assert.NoError(t, err, "cycle %d: the lifecycle ledger is torn", cycle)
		_, err = state.ReadHistory(p.History)
		assert.NoError(t, err, "cycle %d: the exit history is torn", cycle)
		// The only temporary files allowed are the running supervisor's
		// spares for its next writes (state, ledger, exit history).
		tmp, _ := filepath.Glob(filepath.Join(p.Dir, ".*.tmp-*"))
		tmpState, _ := filepath.Glob(filepath.Join(p.Dir, "state", ".*.tmp-*"))
		var left []string
		for _, f := range append(tmp, tmpState...) {
			if st.S6.Up && strings.Contains(filepath.Base(f), fmt.Sprintf(".tmp-%d-", st.S6.Pid)) {
				continue
			}
			left = append(left, f)
		}
		assert.Empty(t, left, "cycle %d: temporary files left behind", cycle)
		dry := e.ok(0, "boot", "--dry-run").stdout
		switch final {
		case "stop":
			assert.False(t, st.S6.Up, "cycle %d: s6 says up after a final stop", cycle)
			assert.False(t, st.S6.WantedUp, "cycle %d", cycle)
			assert.Equal(t, "stopped", f.DesiredState, "cycle %d", cycle)
			if before.S6 != nil && before.S6.Up {
				assert.Equal(t, "stopped", f.GatewayState, "cycle %d: the final stop stopped a running gateway", cycle)
				assert.Equal(t, "operator", f.Trigger, "cycle %d", cycle)
			}
			assert.Contains(t, dry, " profile=coder prior_state="+f.GatewayState+" action=registered ", "cycle %d: the next boot keeps it down", cycle)
			_, err := os.Lstat(p.Marker)
			assert.ErrorIs(t, err, os.ErrNotExist, "cycle %d: a marker is left behind and no gateway runs", cycle)
		default:
			assert.True(t, st.S6.Up, "cycle %d: s6 says down after a final %s", cycle, final)
			assert.True(t, st.S6.Ready, "cycle %d", cycle)
			assert.True(t, st.S6.WantedUp, "cycle %d", cycle)
			assert.Equal(t, "running", f.DesiredState, "cycle %d", cycle)
			assert.Equal(t, "running", f.GatewayState, "cycle %d", cycle)
			assert.Contains(t, dry, " profile=coder prior_state=running action=started ", "cycle %d: the next boot starts it", cycle)
			if m, j, _ := state.ReadMarker(p.Marker); j != state.MarkerAbsent {
				live, err := state.ProcOf(m.TargetPid)
				assert.True(t, err == nil && live == m.Target(),
					"cycle %d: a marker is left behind naming pid %d, which is gone (the supervised process is %d)", cycle, m.TargetPid, st.S6.Pid)
			}
		}
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%3d× %s", failures[k], k)
	}
	t.Logf("%d concurrent commands, %d failed with a clear error", ran, failed)
	e.ok(0, "-p", "coder", "gateway", "stop")
}

// clearUnderContention reports whether a failure under contention is one
// of the expected, clear ones: s6 timed out (and says so), another
// command stopped the gateway while a start waited for it, or the gateway
// went down by itself while a start waited.
func clearUnderContention(stderr string) bool {
	for _, s := range []string{"timed out", "was stopped while this", "did not become ready"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// scrub shortens an error for the summary.
func scrub(s string, e *env) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, e.home, "$HOME")
	s = strings.ReplaceAll(s, e.scandir, "$SCANDIR")
	return fmt.Sprint(s)
}
