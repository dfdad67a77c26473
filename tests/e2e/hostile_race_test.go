package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
)

// TestHostileLogDirSwapRace (issue 11, class 4): root checks a gateway's
// log path, then creates and chowns it by name again; the gateway user
// swaps logs/gateways with a symlink to a directory outside the volume in
// a tight loop (renameat2 RENAME_EXCHANGE), while boot runs again and
// again and while the registrar registers profiles the user creates and
// removes. A profile named "etc" aims at a root-owned etc/ there. Nothing
// may be created in, and no owner may change under, the outside
// directory; every boot ends within its deadline.
func TestHostileLogDirSwapRace(t *testing.T) {
	c := boot(t, "")
	att := attacker(t)
	outside := outsideDir(t, c, "outside")
	require.NoError(t, os.Mkdir(filepath.Join(outside, "etc"), 0o755))
	before := snapshot(t, outside)
	createProfile(t, c, hermes, "etc")
	gateways := filepath.Join(c.Home, "logs", "gateways")
	link := filepath.Join(c.Home, "logs", ".gateways-swap")
	// logs/ may be root's: then the user, who owns the volume, puts a
	// logs/ of its own in its place.
	mustAttack(t, c, `logs=$(dirname "$1")
if ! ln -s "$2" "$1" 2>/dev/null; then
	mv "$logs" "$logs.aside" && mkdir -p "$logs/gateways" && ln -s "$2" "$1"
fi`, link, outside)

	boots := testenv.Trials(t, 5, 40)
	churn := 3 * time.Second
	if testenv.Long() {
		churn = 30 * time.Second
	}
	swapFor := churn + 3*time.Second

	var wg sync.WaitGroup
	var swapRes, churnRes container.Result
	wg.Go(func() { swapRes = c.ExecAs(hermes, att, "swap", gateways, link, swapFor.String()) })
	wg.Go(func() { churnRes = c.ExecAs(hermes, att, "churn", c.Home, "r", churn.String()) })
	start := time.Now()
	var n int
	var longest time.Duration
	for i := 0; i < boots || time.Since(start) < churn; i++ {
		b := time.Now()
		r := c.Supervisor("boot")
		n++
		longest = max(longest, time.Since(b))
		assert.NotEqual(t, -1, r.Code, "boot %d did not finish within its deadline: %s", i, r)
		if time.Since(start) > swapFor-time.Second {
			t.Logf("the swap ends before boot %d", i+1)
			break
		}
	}
	wg.Wait()
	t.Logf("%d boots under the swap, the longest %s", n, longest.Round(time.Millisecond))
	t.Logf("%s; %s", strings.TrimSpace(swapRes.Stdout), strings.TrimSpace(churnRes.Stdout))
	assert.Equal(t, before, snapshot(t, outside), "root created or chowned something in %s through the swapped logs/gateways", outside)
	assert.True(t, swapRes.OK(), "%s", swapRes)
	assert.True(t, churnRes.OK(), "%s", churnRes)
}
