package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// TestHostileProfileCannotStallBoot (issue 11, class 6): one profile.toml,
// which the gateway user writes, must not stop the container's boot. Its
// policy module is a FIFO (a read blocks forever) or /dev/zero (a read
// never ends); it raises policy.timeout to 1m (start-up is bounded at
// ten times it) or policy.memory_limit to 512MiB. Boot still finishes
// within its deadline (a deadline, not a speed claim), the other profiles
// boot and their gateways come up, and each bad profile is refused, or
// decided by the fallback, with a reason naming the cause; a raised limit
// is refused as above the limit of hermes.toml.
func TestHostileProfileCannotStallBoot(t *testing.T) {
	// hermes.toml states the limits a profile.toml may only lower.
	c := boot(t, configWithPolicy("module = \"\"\ntimeout = \"100ms\"\nmemory_limit = \"16MiB\""))
	for _, p := range []string{"fifo", "zero", "slow", "big", "good1", "good2"} {
		createProfile(t, c, 0, p)
	}
	stampState(t, c, "good1", "running")
	stampState(t, c, "good2", "running")
	stampState(t, c, "fifo", "running")
	fifo := filepath.Join(c.ProfileDir("fifo"), "policy.wasm")
	mustAttack(t, c, `mkfifo "$1"`, fifo)
	setProfileConfig(t, c, "fifo", "[policy]\nmodule = \""+fifo+"\"\n")
	setProfileConfig(t, c, "zero", "[policy]\nmodule = \"/dev/zero\"\n")
	setProfileConfig(t, c, "slow", "[policy]\ntimeout = \"1m\"\n")
	setProfileConfig(t, c, "big", "[policy]\nmemory_limit = \"512MiB\"\n")

	start := time.Now()
	off := consoleSize(c)
	c.Restart()
	if !container.Poll(bootDeadline, c.ScannerUp) {
		t.Fatalf("boot did not finish within %s (s6-svscan never came up); this boot's log so far:\n%s", bootDeadline, c.BootLog())
	}
	t.Logf("boot finished within %s", time.Since(start).Round(time.Millisecond))
	lines := c.WaitBoot(bootDeadline, "default", "fifo", "zero", "slow", "big", "good1", "good2")
	console := consoleSince(c, off)
	requireStarted(t, c, lines["good1"], "good1")
	requireStarted(t, c, lines["good2"], "good2")

	// The cause is named in the profile's boot-log line, or, when the
	// fallback decided, in boot's warning about the module (the console,
	// `docker logs`), which names the module file.
	refusedOrFallback := func(name, module string) {
		t.Helper()
		l := lines[name]
		require.NotNil(t, l)
		if l["action"] != "skipped" {
			assert.Regexp(t, `^fallback@`, l["policy"], "%s: neither refused nor decided by the fallback: %v", name, l)
		}
		if strings.Contains(l["reason"], module) {
			return
		}
		for _, line := range strings.Split(console, "\n") {
			if strings.Contains(line, module) && regexp.MustCompile(`(?i)not a regular file|fifo|device|refused`).MatchString(line) {
				return
			}
		}
		t.Errorf("%s: neither its boot-log line (%v) nor boot's console names what is wrong with its module %s", name, l, module)
	}
	refusedOrFallback("fifo", fifo)
	refusedOrFallback("zero", "/dev/zero")
	for name, key := range map[string]string{"slow": "policy.timeout", "big": "policy.memory_limit"} {
		l := lines[name]
		assert.Equal(t, "skipped", l["action"], "%s: a raised %s was not refused: %v", name, key, l)
		assert.Regexp(t, regexp.QuoteMeta(key)+`.*above the limit.*hermes\.toml`, l["reason"], "%s: %v", name, l)
	}
}
