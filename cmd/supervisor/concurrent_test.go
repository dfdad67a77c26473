package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBootTwiceAtOnce: two boots at once leave every slot whole (a run
// script, a down file exactly when the profile is to stay down), nothing
// half-built, and one boot-log line per profile per boot that ran.
func TestBootTwiceAtOnce(t *testing.T) {
	e := newEnv(t)
	const n = 20
	for i := range n {
		name := fmt.Sprintf("p%02d", i)
		e.ok(0, "profile", "create", name)
		st := "stopped"
		if i%2 == 0 {
			st = "running"
		}
		require.NoError(t, os.WriteFile(e.paths(name).State, []byte(fmt.Sprintf(`{"gateway_state":%q,"desired_state":%q}`, st, st)), 0o644))
	}
	for round := range 3 {
		var wg sync.WaitGroup
		res := make([]result, 2)
		for j := range res {
			wg.Add(1)
			go func() { defer wg.Done(); res[j] = e.cliWithin(60*time.Second, "boot") }()
		}
		wg.Wait()
		ok := 0
		for _, r := range res {
			assert.NotContains(t, r.stderr, "goroutine")
			if r.code == 0 {
				ok++
			} else {
				assert.NotContains(t, strings.TrimRight(r.stderr, "\n"), "\n", "round %d: a refused boot says why in one line", round)
			}
		}
		require.GreaterOrEqual(t, ok, 1, "round %d: neither boot succeeded: %+v", round, res)
		for i := range n {
			slot := filepath.Join(e.scandir, fmt.Sprintf("gateway-p%02d", i))
			run, err := os.ReadFile(filepath.Join(slot, "run"))
			require.NoError(t, err, "round %d: slot %s has no run script", round, slot)
			assert.Contains(t, string(run), binary, "round %d: %s/run is not whole", round, slot)
			_, err = os.Stat(filepath.Join(slot, "down"))
			assert.Equal(t, i%2 != 0, err == nil, "round %d: %s down file", round, slot)
		}
		hidden, _ := filepath.Glob(filepath.Join(e.scandir, ".*"))
		assert.Empty(t, hidden, "round %d: half-built slots left in the scan directory", round)
	}
}
