package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// evilReason is what the hostile module answers as its reason: an escape
// sequence, a carriage return, a tab and a newline that would forge a
// line of its own.
const evilReason = "evil\x1b[31m red\r\tcol\nFORGED boot: profile default: started"

// evilPolicy is a module, written against ABI 1.0, that decides boot only
// (register down, with evilReason) and declines everything else.
func evilPolicy() string {
	meta := "name=evil\nversion=1.0.0\ndecisions=boot\n"
	rec := make([]byte, 32+len(evilReason))
	le := func(off int, v uint32) {
		rec[off], rec[off+1], rec[off+2], rec[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	le(0, uint32(len(rec))) // size
	le(4, 2)                // action: down
	le(20, uint32(len(evilReason)))
	copy(rec[32:], evilReason)
	return fmt.Sprintf(`(module
  (memory (export "memory") 1)
  (data (i32.const 16) %s)
  (data (i32.const 1024) %s)
  (func (export "hermes_abi_version") (result i32) (i32.const 0x10000))
  (func (export "hermes_metadata") (result i64) (i64.const %d))
  (func (export "hermes_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hermes_decide") (param $kind i32) (param i32 i32) (result i64)
    (if (result i64) (i32.eq (local.get $kind) (i32.const 1))
      (then (i64.const %d))
      (else (i64.const -1)))))
`, watString(meta), watString(string(rec)), 16<<32|len(meta), 1024<<32|len(rec))
}

// watString is s as a WebAssembly text string, every byte escaped.
func watString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\%02x`, s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// TestHostileUntrustedStringsEscaped (issue 11, class 9): strings from the
// volume and from a policy module reach human-readable outputs escaped.
// A state file holds tabs, escape sequences and newlines in gateway_state
// and its reason; a profile's own policy module answers a reason with an
// escape sequence, a carriage return and a newline; a directory under
// profiles/ is named with an escape sequence and a newline. `explain`,
// `gateway status`, `profile list` and boot's console lines (what `docker
// logs` shows) carry no raw control character, no tab inside a field of
// the status table, and no forged line or row.
func TestHostileUntrustedStringsEscaped(t *testing.T) {
	c := boot(t, "")
	for _, p := range []string{"ctrl", "evil"} {
		createProfile(t, c, hermes, p) // profiles/ is the gateway user's
	}
	writeAs(t, c, "ctrl", "gateway_state.json",
		`{"gateway_state": "running\t\u001b[31mX\nforged-row\tup", "desired_state": "stopped\u001b]0;title\u0007", "reason": "r\u001b[2J\nFORGED reason\r", "timestamp": 1}`)
	module := watModule(t, c, "evil", evilPolicy())
	setProfileConfig(t, c, "evil", fmt.Sprintf("[policy]\nmodule = %q\n", module))
	badName := "bad\x1b[2Jname\nFORGED-profile"
	mustAttack(t, c, `mkdir -p "$1" && : > "$1/profile.toml"`, filepath.Join(c.Home, "profiles", badName))

	off := consoleSize(c)
	restart(t, c, "ctrl", "evil")
	require.True(t, container.Poll(pathDeadline, func() bool { return strings.Contains(consoleSince(c, off), "FORGED-profile") }),
		"boot's console never mentioned the invalid profile directory:\n%s", consoleSince(c, off))

	check := func(what, out string, allowTab bool) {
		t.Helper()
		assert.Empty(t, rawControls(out, allowTab), "%s prints raw control characters:\n%s", what, out)
		for _, line := range strings.Split(out, "\n") {
			assert.False(t, strings.HasPrefix(line, "FORGED") || strings.HasPrefix(line, "forged"), "%s has a forged line %q:\n%s", what, line, out)
		}
	}
	check("boot's console", consoleSince(c, off), false)
	r := c.Supervisor("boot", "--dry-run")
	check("boot --dry-run (stderr)", r.Stderr, false)
	check("boot --dry-run (stdout)", r.Stdout, false)

	for _, args := range [][]string{
		{"-p", "evil", "explain"},
		{"-p", "ctrl", "explain"},
		{"explain", "--all"},
		{"profile", "list"},
	} {
		r := c.SupervisorAs(hermes, args...)
		check(fmt.Sprintf("%q (stdout)", args), r.Stdout, false)
		check(fmt.Sprintf("%q (stderr)", args), r.Stderr, false)
	}
	for _, args := range [][]string{
		{"-p", "ctrl", "gateway", "status"},
		{"gateway", "status", "--all"},
	} {
		r := c.SupervisorAs(hermes, args...)
		check(fmt.Sprintf("%q (stderr)", args), r.Stderr, false)
		check(fmt.Sprintf("%q (stdout)", args), r.Stdout, true) // tab-separated: not a terminal
		lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
		header := strings.Count(lines[0], "\t")
		for _, l := range lines[1:] {
			assert.Equal(t, header, strings.Count(l, "\t"), "%q: a row with a tab inside a field: %q", args, l)
		}
		if len(args) == 4 {
			assert.Len(t, lines, 2, "%q: one header and one row:\n%s", args, r.Stdout)
		}
	}
}
