package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// Boot compiles the policy into the gateway user's own cache, as that
// user, before any gateway starts: a gateway's first start finds its
// module compiled.
func TestBootWarmsTheGatewayUsersCache(t *testing.T) {
	require.NoError(t, container.HermesUser())
	c := container.New(t, container.Options{PrivateDirs: []string{"/var/cache"}})
	require.NoError(t, c.Bin.NeedStandin())
	c.Start()
	c.WaitBoot(bootDeadline, "default")
	console, err := os.ReadFile(c.Console)
	require.NoError(t, err)
	assert.Contains(t, string(console), "boot: policy cache of hermes: default@", "boot says it compiled the module for the gateway user")
	r := c.Exec("sh", "-c", "stat -c '%u %a' /var/cache/hermes-supervisor/uid-10000 && find /var/cache/hermes-supervisor/uid-10000 -type f | wc -l && find /var/cache/hermes-supervisor/uid-10000 ! -user 10000 | wc -l")
	require.True(t, r.OK(), "%s", r)
	lines := strings.Fields(r.Stdout)
	require.Len(t, lines, 4, r.Stdout)
	assert.Equal(t, "10000", lines[0], "the gateway user's cache is its own")
	assert.Equal(t, "700", lines[1])
	assert.NotEqual(t, "0", lines[2], "compiled code is there before any gateway started")
	assert.Equal(t, "0", lines[3], "written as the gateway user, nothing of root's in it")
}
