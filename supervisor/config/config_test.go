package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

// clearEnv empties the variables Load reads and moves into an empty
// directory, where tests write files by short relative names so that the
// messages they expect are exact.
func clearEnv(t *testing.T) {
	for _, k := range []string{"HERMES_CONFIG", "HERMES_HOME", "S6_PROFILE_GATEWAY_SCANDIR"} {
		t.Setenv(k, "")
	}
	t.Chdir(t.TempDir())
}

func messages(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	return out
}

func TestLoadPrecedence(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	f := write(t, dir, "h.toml", "home = \"/from/file\"\nscandir = \"/scan/file\"\n[gateway]\nstop_grace = \"3s\"\n")

	c, err := Load(f, Overrides{})
	require.NoError(t, err)
	assert.Equal(t, f, c.File)
	assert.Equal(t, "/from/file", c.Home)
	assert.Equal(t, f, c.Sources["home"])
	assert.Equal(t, 3*time.Second, c.Gateway.StopGrace.D())
	assert.Equal(t, f, c.Sources["gateway.stop_grace"])
	assert.Equal(t, "default", c.Sources["gateway.ready_after"])

	t.Setenv("HERMES_HOME", "/from/env")
	c, err = Load(f, Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "/from/env", c.Home)
	assert.Equal(t, "env HERMES_HOME", c.Sources["home"])

	c, err = Load(f, Overrides{Home: "/from/flag", Scandir: "/scan/flag"})
	require.NoError(t, err)
	assert.Equal(t, "/from/flag", c.Home)
	assert.Equal(t, "/scan/flag", c.Scandir)
	assert.Equal(t, "flag --home", c.Sources["home"])
	assert.Equal(t, "flag --scandir", c.Sources["scandir"])
}

func TestLoadEnvConfigMustExist(t *testing.T) {
	clearEnv(t)
	t.Setenv("HERMES_CONFIG", "/nonexistent/hermes.toml")
	_, err := Load("", Overrides{})
	require.EqualError(t, err, "config: /nonexistent/hermes.toml: open: no such file or directory")
	assert.ErrorIs(t, err, os.ErrNotExist)
	var p Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, "/nonexistent/hermes.toml", p.File)
	assert.Empty(t, p.Key)
}

func TestLoadFallsBackToDefaults(t *testing.T) {
	clearEnv(t)
	c, err := Load("", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "", c.File)
	assert.Equal(t, "/opt/data", c.Home)
}

func TestLoadFindsHermesTOMLInTheWorkingDirectory(t *testing.T) {
	clearEnv(t)
	write(t, ".", "hermes.toml", "home = \"/here\"\n")
	c, err := Load("", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "hermes.toml", c.File)
	assert.Equal(t, "/here", c.Home)
}

// Every message a hermes.toml can earn, exactly.
func TestLoadErrors(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name, body, want string
	}{
		// unknown keys, with the nearest known one
		{"typo", "[gateway]\nstop_grase = \"1s\"\n", `config: unknown setting "gateway.stop_grase" in hermes.toml; did you mean "gateway.stop_grace"?`},
		{"transposition", "[policy]\nmoduel = \"\"\n", `config: unknown setting "policy.moduel" in hermes.toml; did you mean "policy.module"?`},
		{"letter case", "[policy]\nTimeout = \"1s\"\n", `config: unknown setting "policy.Timeout" in hermes.toml; did you mean "policy.timeout"?`},
		{"table typo", "[gatway]\nstop_grace = \"1s\"\n", `config: unknown setting "gatway" in hermes.toml; did you mean "gateway"?`},
		{"table in other case", "[Gateway]\nuser = \"root\"\n", `config: unknown setting "Gateway" in hermes.toml; did you mean "gateway"?`},
		{"top-level typo", "hom = \"/x\"\n", `config: unknown setting "hom" in hermes.toml; did you mean "home"?`},
		{"under the wrong table", "[gateway]\ntimeout = \"1s\"\n", `config: unknown setting "gateway.timeout" in hermes.toml; did you mean "policy.timeout"?`},
		{"top-level key after a table", "[policy]\nhome = \"/x\"\n", `config: unknown setting "policy.home" in hermes.toml; did you mean "home"?`},
		{"top-level key not in a table", "stop_grace = \"1s\"\n", `config: unknown setting "stop_grace" in hermes.toml; did you mean "gateway.stop_grace"?`},
		{"nothing near", "[gateway]\nbogus = 1\n", `config: unknown setting "gateway.bogus" in hermes.toml`},
		{"nothing near at the top", "bogus = 1\n", `config: unknown setting "bogus" in hermes.toml`},
		{"near for a short name", "[gateway]\nusr = \"x\"\n", `config: unknown setting "gateway.usr" in hermes.toml; did you mean "gateway.user"?`},
		{"too far for a short name", "[gateway]\nuzr = \"x\"\n", `config: unknown setting "gateway.uzr" in hermes.toml`},
		{"quoted key escaped", "[gateway]\n\"st\\nop\" = 1\n", `config: unknown setting "gateway.\"st\\nop\"" in hermes.toml`},
		{"long key cut", "[gateway]\n" + long + " = 1\n", `config: unknown setting "gateway.` + strings.Repeat("x", 31) + `…" in hermes.toml`},

		// TOML types, in our words
		{"duration as integer", "[gateway]\nstop_grace = 10\n", `config: gateway.stop_grace in hermes.toml: want a duration string like "10s", found an integer`},
		{"duration as date", "[policy]\ntimeout = 1979-05-27\n", `config: policy.timeout in hermes.toml: want a duration string like "10s", found a date or time`},
		{"string as integer", "[gateway]\nuser = 3\n", `config: gateway.user in hermes.toml: want a string, found an integer`},
		{"bool as string", "registrar = \"yes\"\n", `config: registrar in hermes.toml: want true or false, found a string`},
		{"array as string", "[gateway]\ncommand = \"hermes\"\n", `config: gateway.command in hermes.toml: want an array of strings like ["a", "b"], found a string`},
		{"array item", "[gateway]\ncommand = [\"a\", 1]\n", `config: gateway.command in hermes.toml: want an array of strings like ["a", "b"], found an integer as item 2`},
		{"size as float", "[policy]\nmemory_limit = 1.5\n", `config: policy.memory_limit in hermes.toml: want a size like "16MiB" or a whole number of bytes, found a float`},
		{"size as boolean", "[policy]\nmemory_limit = true\n", `config: policy.memory_limit in hermes.toml: want a size like "16MiB" or a whole number of bytes, found a boolean`},
		{"params not a table", "[policy]\nparams = 1\n", `config: policy.params in hermes.toml: want a table, found an integer`},
		{"table as string", "gateway = \"x\"\n", `config: gateway in hermes.toml: want a table, found a string`},
		{"array of tables", "[[gateway]]\nuser = \"x\"\n[[gateway]]\nuser = \"y\"\n", `config: gateway in hermes.toml: want a table, found an array of tables`},
		{"string as array", "home = [\"/a\"]\n", `config: home in hermes.toml: want a string, found an array`},
		{"string as table", "home = {a = 1}\n", `config: home in hermes.toml: want a string, found a table`},

		// values that do not parse
		{"bad duration", "[gateway]\nstop_grace = \"ten\"\n", `config: gateway.stop_grace in hermes.toml: want a duration like "10s" or "100ms", found "ten"`},
		{"long value cut", "[gateway]\nstop_grace = \"" + long + "\"\n", `config: gateway.stop_grace in hermes.toml: want a duration like "10s" or "100ms", found "` + strings.Repeat("x", 39) + `…"`},
		{"control characters escaped", "[gateway]\nstop_grace = \"a\\u001b[31m\\n\"\n", `config: gateway.stop_grace in hermes.toml: want a duration like "10s" or "100ms", found "a\x1b[31m\n"`},
		{"bad size", "[policy]\nmemory_limit = \"lots\"\n", `config: policy.memory_limit in hermes.toml: want a size like "16MiB" (a whole number with B, KiB, MiB or GiB), found "lots"`},
		{"negative size", "[policy]\nmemory_limit = -1\n", `config: policy.memory_limit in hermes.toml: want a size of 0 bytes or more, found -1`},

		// ranges (Validate)
		{"negative grace", "[gateway]\nstop_grace = \"-1s\"\n", `config: gateway.stop_grace in hermes.toml: must be positive, found -1s`},
		{"negative ready", "[gateway]\nready_after = \"-1s\"\n", `config: gateway.ready_after in hermes.toml: must not be negative, found -1s`},
		{"bad on_error", "[policy]\non_error = \"ignore\"\n", `config: policy.on_error in hermes.toml: want "fallback" or "fail", found "ignore"`},
		{"bad sha", "[policy]\nsha256 = \"abc\"\n", `config: policy.sha256 in hermes.toml: want 64 hex digits, found "abc"`},
		{"cache on the volume", "home = \"/opt/data\"\n[policy]\ncache_dir = \"/opt/data/cache/policy\"\n", `config: policy.cache_dir in hermes.toml: "/opt/data/cache/policy" is on the volume (/opt/data), which the gateway user can write: root loads machine code from it; use a directory of root's, such as /var/cache/hermes-supervisor`},
		{"cache relative", "[policy]\ncache_dir = \"cache\"\n", `config: policy.cache_dir in hermes.toml: must be an absolute path, found "cache"`},
		{"tiny memory", "[policy]\nmemory_limit = \"1KiB\"\n", `config: policy.memory_limit in hermes.toml: must be between 64KiB and 4GiB, found 1KiB`},
		{"timeout too long", "[policy]\ntimeout = \"2m\"\n", `config: policy.timeout in hermes.toml: must be more than 0 and at most 1m, found 2m0s`},
		{"empty command", "[gateway]\ncommand = []\n", `config: gateway.command in hermes.toml: must name a program`},
		{"NUL in command", "[gateway]\ncommand = [\"a\\u0000\"]\n", `config: gateway.command in hermes.toml: must not contain a NUL byte`},
		{"empty home", "home = \"\"\n", `config: home in hermes.toml: must not be empty`},

		// syntax: one line, escaped, a short excerpt
		{"syntax", "home = \n", `config: hermes.toml: line 1: expected value but found '\n' instead`},
		{"syntax line", "[gateway\n", `config: hermes.toml: line 2: expected '.' or ']' to end table name, but got '\n' instead`},
		{"control character", "home = \"a\x1b\"\n", `config: hermes.toml: line 1: TOML files cannot contain control characters: '0x1b'`},
		{"invalid UTF-8", "\xff = 1\n", `config: hermes.toml: line 1: invalid UTF-8 byte: 0xff`},
		{"duplicate", "home = \"a\"\nhome = \"b\"\n", `config: hermes.toml: line 2: Key 'home' has already been defined.`},
		{"long excerpt cut", "home = " + long + "\n", `config: hermes.toml: line 1: expected value but found "` + strings.Repeat("x", 39) + `…" instead`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			write(t, ".", "hermes.toml", tt.body)
			_, err := Load("hermes.toml", Overrides{})
			require.EqualError(t, err, tt.want)
			var p Problem
			require.ErrorAs(t, err, &p)
			assert.Equal(t, "hermes.toml", p.File)
		})
	}
}

func TestLoadNeverLeaksTheLibrarysWording(t *testing.T) {
	clearEnv(t)
	for _, body := range []string{
		"[gateway]\nstop_grace = 10\n", "[gateway]\ncommand = 1\n", "[gateway]\ncommand = [1]\n",
		"registrar = 1\n", "[policy]\nparams = [1]\n", "[policy]\nmemory_limit = [1]\n", "gateway = []\n",
	} {
		write(t, ".", "hermes.toml", body)
		_, err := Load("hermes.toml", Overrides{})
		require.Error(t, err, body)
		for _, leak := range []string{"toml: line", "last key", "incompatible types", "int64", "destination", "[]interface", "map["} {
			assert.NotContains(t, err.Error(), leak, body)
		}
	}
}

func TestValidateNamesTheSource(t *testing.T) {
	c := Default()
	c.Home = ""
	require.EqualError(t, c.Validate(), "config: home: must not be empty")
	c.Sources["home"] = "env HERMES_HOME"
	require.EqualError(t, c.Validate(), "config: home (from env HERMES_HOME): must not be empty")
	c.Sources["home"] = "flag --home"
	require.EqualError(t, c.Validate(), "config: home (from flag --home): must not be empty")
	c.Sources["home"] = "/etc/hermes/hermes.toml"
	require.EqualError(t, c.Validate(), "config: home in /etc/hermes/hermes.toml: must not be empty")
}

func TestLoadNotARegularFile(t *testing.T) {
	clearEnv(t)
	require.NoError(t, os.Mkdir("dir", 0o755))
	_, err := Load("dir", Overrides{})
	require.EqualError(t, err, "config: dir: not a regular file")
}

func TestLoadToleratesBOMAndIntegerSize(t *testing.T) {
	clearEnv(t)
	f := write(t, t.TempDir(), "h.toml", "\ufeff[policy]\nmemory_limit = 1048576\nsha256 = \""+strings.Repeat("AB", 32)+"\"\n")
	c, err := Load(f, Overrides{})
	require.NoError(t, err)
	assert.Equal(t, ByteSize(1<<20), c.Policy.MemoryLimit)
	assert.Equal(t, "1MiB", c.Policy.MemoryLimit.String())
	assert.Equal(t, strings.Repeat("ab", 32), c.Policy.SHA256, "the pin is stored lower-case")
}

func TestLoadAcceptsAnyParams(t *testing.T) {
	clearEnv(t)
	write(t, ".", "hermes.toml", "[policy.params]\nmultiplex_profiles = true\nmax_restarts = 3\n[policy.params.window]\nsize = \"5m\"\n")
	c, err := Load("hermes.toml", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"multiplex_profiles": true, "max_restarts": int64(3), "window": map[string]any{"size": "5m"}}, c.Policy.Params)
	assert.Equal(t, "hermes.toml", c.Sources["policy.params"])
}

// Check lists every problem, in file order, then the range checks, and
// applies every valid value.
func TestCheckReturnsEveryProblem(t *testing.T) {
	clearEnv(t)
	write(t, ".", "hermes.toml", `home = "/h"
bogus = 1
[gateway]
stop_grase = "1s"
stop_grace = 10
ready_after = "-1s"
user = "gw"
[policy]
timeout = "2m"
on_error = "ignore"
`)
	c, ps := Check("hermes.toml", Overrides{})
	assert.Equal(t, []string{
		`config: unknown setting "bogus" in hermes.toml`,
		`config: unknown setting "gateway.stop_grase" in hermes.toml; did you mean "gateway.stop_grace"?`,
		`config: gateway.stop_grace in hermes.toml: want a duration string like "10s", found an integer`,
		`config: gateway.ready_after in hermes.toml: must not be negative, found -1s`,
		`config: policy.timeout in hermes.toml: must be more than 0 and at most 1m, found 2m0s`,
		`config: policy.on_error in hermes.toml: want "fallback" or "fail", found "ignore"`,
	}, messages(ps))
	var keys []string
	for _, p := range ps {
		assert.Equal(t, "hermes.toml", p.File)
		keys = append(keys, p.Key)
	}
	assert.Equal(t, []string{"bogus", "gateway.stop_grase", "gateway.stop_grace", "gateway.ready_after", "policy.timeout", "policy.on_error"}, keys)
	assert.Equal(t, "/h", c.Home)
	assert.Equal(t, "gw", c.Gateway.User)
	assert.Equal(t, "default", c.Sources["gateway.stop_grace"], "a value at fault keeps the default")
	assert.Equal(t, 10*time.Second, c.Gateway.StopGrace.D())

	_, err := Load("hermes.toml", Overrides{})
	assert.Equal(t, ps[0].Error(), err.Error(), "Load returns Check's first problem")

	write(t, ".", "hermes.toml", "home = \"/h\"\n")
	c, ps = Check("hermes.toml", Overrides{})
	assert.Empty(t, ps)
	assert.Equal(t, "/h", c.Home)
}

func TestCheckProfileReturnsEveryProblem(t *testing.T) {
	clearEnv(t)
	write(t, ".", "profile.toml", `model = "x"
home = "/elsewhere"
[gateway]
user = "root"
stop_grace = "5"
[policy]
cache_dir = "/tmp/mine"
timeout = "1s"
memory_limit = "1GiB"
module = "/opt/data/m.wasm"
`)
	c, ps := Default().CheckProfile("profile.toml")
	assert.Equal(t, []string{
		`config: home in profile.toml: may only be set in hermes.toml, not in a profile.toml (which the gateway user can write)`,
		`config: gateway.user in profile.toml: may only be set in hermes.toml, not in a profile.toml (which the gateway user can write)`,
		`config: gateway.stop_grace in profile.toml: want a duration like "10s" or "100ms", found "5"`,
		`config: policy.cache_dir in profile.toml: may only be set in hermes.toml, not in a profile.toml (which the gateway user can write)`,
		`config: policy.timeout in profile.toml: 1s is above the limit of 100ms (from the built-in default); a profile may lower it, not raise it`,
		`config: policy.memory_limit in profile.toml: 1GiB is above the limit of 16MiB (from the built-in default); a profile may lower it, not raise it`,
	}, messages(ps))
	assert.Equal(t, "/opt/data/m.wasm", c.Policy.Module, "valid values are applied")
	assert.Equal(t, "hermes", c.Gateway.User)
	assert.Equal(t, DefaultCacheDir, c.Policy.CacheDir, "the profile's cache_dir is refused")

	_, err := Default().ForProfile("profile.toml")
	assert.Equal(t, ps[0].Error(), err.Error(), "ForProfile returns CheckProfile's first problem")
}

func TestForProfile(t *testing.T) {
	clearEnv(t)
	c, err := Load("", Overrides{Home: "/h"})
	require.NoError(t, err)
	dir := t.TempDir()
	p := write(t, dir, "profile.toml", "model = \"x\"\n[agent]\nname = \"coder\"\n[gateway]\ncommand = [\"/bin/gw\"]\n[policy]\nmodule = \"/h/policies/m.wasm\"\n[policy.params]\nmax = 3\n")
	pc, err := c.ForProfile(p)
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/gw"}, pc.Gateway.Command)
	assert.Equal(t, "/h/policies/m.wasm", pc.Policy.Module)
	assert.Equal(t, map[string]any{"max": int64(3)}, pc.Policy.Params, "params replace hermes.toml's, as a whole")
	assert.Equal(t, p, pc.Sources["gateway.command"])
	assert.Equal(t, "flag --home", pc.Sources["home"])
	// the base configuration is untouched
	assert.Equal(t, []string{"hermes", "gateway", "run", "--replace"}, c.Gateway.Command)
	assert.Equal(t, map[string]any{"multiplex_profiles": false}, c.Policy.Params)
	assert.Equal(t, "default", c.Sources["gateway.command"])

	missing, err := c.ForProfile(filepath.Join(dir, "nope.toml"))
	require.NoError(t, err)
	assert.Equal(t, c.Gateway.Command, missing.Gateway.Command)
	_, ps := c.CheckProfile(filepath.Join(dir, "nope.toml"))
	assert.Empty(t, ps, "a missing profile.toml is no problem")
}

// A profile's module is on the volume (root reads it at boot, and must not
// read for the gateway user a file that user could not), or the embedded
// default, or hermes.toml's own.
func TestProfileModuleOnTheVolume(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	top := write(t, dir, "hermes.toml", "home = \"/h\"\n[policy]\nmodule = \"/etc/hermes/policies/x.wasm\"\n")
	c, err := Load(top, Overrides{})
	require.NoError(t, err)
	for name, tc := range map[string]struct{ module, err string }{
		"on the volume":     {"/h/profiles/coder/p.wasm", ""},
		"embedded default":  {"", ""},
		"hermes.toml's own": {"/etc/hermes/policies/x.wasm", ""},
		"root-only file":    {"/root/secret.wasm", `policy.module in ` + dir + `/p.toml: "/root/secret.wasm" is not on the volume (/h): a profile may name only a module there, the embedded default ("") or hermes.toml's; set others in hermes.toml`},
		"dot-dot out":       {"/h/../etc/shadow", `"/h/../etc/shadow" is not on the volume`},
		"relative":          {"p.wasm", `"p.wasm" is not on the volume`},
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, "p.toml", fmt.Sprintf("[policy]\nmodule = %q\n", tc.module))
			pc, err := c.ForProfile(p)
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.module, pc.Policy.Module)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			pc, ps := c.CheckProfile(p)
			require.Len(t, ps, 1)
			assert.Equal(t, c.Policy.Module, pc.Policy.Module, "the refused module is not used")
		})
	}
}

// profile.toml is written by the gateway user: what it may not set.
func TestForProfileRefuses(t *testing.T) {
	clearEnv(t)
	write(t, ".", "hermes.toml", "[policy]\ntimeout = \"50ms\"\nmemory_limit = \"8MiB\"\n")
	base, err := Load("hermes.toml", Overrides{})
	require.NoError(t, err)
	const only = ": may only be set in hermes.toml, not in a profile.toml (which the gateway user can write)"
	tests := []struct {
		name, body, want string
	}{
		{"home", "home = \"/elsewhere\"\n", "config: home in profile.toml" + only},
		{"scandir", "scandir = \"/x\"\n", "config: scandir in profile.toml" + only},
		{"s6_bin_dir", "s6_bin_dir = \"/x\"\n", "config: s6_bin_dir in profile.toml" + only},
		{"registrar", "registrar = false\n", "config: registrar in profile.toml" + only},
		{"user root", "[gateway]\nuser = \"root\"\n", "config: gateway.user in profile.toml" + only},
		{"user empty", "[gateway]\nuser = \"\"\n", "config: gateway.user in profile.toml" + only},
		{"user same", "[gateway]\nuser = \"hermes\"\n", "config: gateway.user in profile.toml" + only},
		{"cache_dir", "[policy]\ncache_dir = \"/tmp/mine\"\n", "config: policy.cache_dir in profile.toml" + only},
		{"cache_dir empty", "[policy]\ncache_dir = \"\"\n", "config: policy.cache_dir in profile.toml" + only},
		{"raise timeout", "[policy]\ntimeout = \"51ms\"\n", "config: policy.timeout in profile.toml: 51ms is above the limit of 50ms (from hermes.toml); a profile may lower it, not raise it"},
		{"raise memory", "[policy]\nmemory_limit = \"16MiB\"\n", "config: policy.memory_limit in profile.toml: 16MiB is above the limit of 8MiB (from hermes.toml); a profile may lower it, not raise it"},
		{"raise memory in bytes", "[policy]\nmemory_limit = 8388609\n", "config: policy.memory_limit in profile.toml: 8388609B is above the limit of 8MiB (from hermes.toml); a profile may lower it, not raise it"},
		{"in other case", "[Gateway]\nUser = \"root\"\n", `config: unknown setting "Gateway" in profile.toml; did you mean "gateway"?`},
		{"typo", "[gateway]\nstop_grase = \"1s\"\n", `config: unknown setting "gateway.stop_grase" in profile.toml; did you mean "gateway.stop_grace"?`},
		{"type", "[gateway]\nstop_grace = 5\n", `config: gateway.stop_grace in profile.toml: want a duration string like "10s", found an integer`},
		{"range", "[policy]\ntimeout = \"0s\"\n", `config: policy.timeout in profile.toml: must be more than 0 and at most 1m, found 0s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(t, ".", "profile.toml", tt.body)
			c, err := base.ForProfile("profile.toml")
			require.EqualError(t, err, tt.want)
			assert.Equal(t, base.Gateway.User, c.Gateway.User)
			assert.Equal(t, base.Policy.Timeout, c.Policy.Timeout)
		})
	}

	t.Run("the built-in limit", func(t *testing.T) {
		write(t, ".", "profile.toml", "[policy]\ntimeout = \"200ms\"\n")
		_, err := Default().ForProfile("profile.toml")
		require.EqualError(t, err, "config: policy.timeout in profile.toml: 200ms is above the limit of 100ms (from the built-in default); a profile may lower it, not raise it")
	})
}

func TestForProfileMayLowerTheLimits(t *testing.T) {
	clearEnv(t)
	write(t, ".", "hermes.toml", "[policy]\ntimeout = \"50ms\"\nmemory_limit = \"8MiB\"\n")
	base, err := Load("hermes.toml", Overrides{})
	require.NoError(t, err)
	for _, body := range []string{
		"[policy]\ntimeout = \"50ms\"\nmemory_limit = \"8MiB\"\n", // equal
		"[policy]\ntimeout = \"10ms\"\nmemory_limit = 1048576\n",  // lower
	} {
		write(t, ".", "profile.toml", body)
		c, err := base.ForProfile("profile.toml")
		require.NoError(t, err, body)
		assert.LessOrEqual(t, c.Policy.Timeout, base.Policy.Timeout)
		assert.LessOrEqual(t, c.Policy.MemoryLimit, base.Policy.MemoryLimit)
		assert.Equal(t, "profile.toml", c.Sources["policy.timeout"])
	}
}

// hermes' own settings in profile.toml are not ours to judge.
func TestForProfileIgnoresHermesOwnSettings(t *testing.T) {
	clearEnv(t)
	write(t, ".", "profile.toml", "model = \"x\"\ngateways = 1\nhom = \"/x\"\n[agent]\nstop_grace = 1\n[[tools]]\nname = \"a\"\n[gateway]\nstop_grace = \"3s\"\n")
	c, err := Default().ForProfile("profile.toml")
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c.Gateway.StopGrace.D())
}

// tagged walks a struct type's toml tags on its own, as the documentation
// of Config says settings are found: a field whose type is a struct of
// settings is a table, any other tagged field a setting.
func tagged(t reflect.Type, prefix string, index []int, out map[string][]int, order *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := join(prefix, name)
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			tagged(f.Type, key, idx, out, order)
			continue
		}
		out[key] = idx
		*order = append(*order, key)
	}
}

// Adding a setting is its field (tag and doc) and its default: Keys,
// Value, Sources and the file's decoding follow from the tag, and the test
// below holds hermes.toml and the README to documenting it.
func TestEveryTaggedFieldIsASetting(t *testing.T) {
	fields := map[string][]int{}
	var order []string
	tagged(reflect.TypeFor[Config](), "", nil, fields, &order)
	assert.Equal(t, order, Keys(), "Keys are the tagged fields in declaration order")

	c := Default()
	v := reflect.ValueOf(c)
	for _, k := range order {
		assert.Equal(t, "default", c.Sources[k], k)
		f := v.FieldByIndex(fields[k])
		want := f.Interface()
		if m, ok := want.(interface{ MarshalText() ([]byte, error) }); ok {
			b, _ := m.MarshalText()
			want = string(b)
		}
		assert.Equal(t, want, c.Value(k), k)
	}
	assert.Len(t, c.Sources, len(order))
	assert.Nil(t, c.Value("nope"))
	assert.Nil(t, c.Value("gateway"))
}

// The documented configuration is the built-in one, key for key: parse the
// repository's hermes.toml and compare.
func TestHermesTOMLDocumentsEverySetting(t *testing.T) {
	clearEnv(t)
	path, err := filepath.Abs(filepath.Join(repoRoot(t), "hermes.toml"))
	require.NoError(t, err)
	got, ps := Check(path, Overrides{})
	require.Empty(t, messages(ps))
	want := Default()
	for _, k := range Keys() {
		assert.Equal(t, want.Value(k), got.Value(k), "hermes.toml's %s is not the built-in default", k)
		assert.Equal(t, path, got.Sources[k], "hermes.toml does not document %s", k)
	}
	// and sets nothing else (comments aside)
	var raw map[string]any
	md, err := toml.DecodeFile(path, &raw)
	require.NoError(t, err)
	for _, k := range md.Keys() {
		ks := k.String()
		if byKey[ks] == nil && !strings.HasPrefix(ks, "policy.params.") {
			assert.Contains(t, []string{"gateway", "policy"}, ks)
		}
	}

	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	for _, k := range Keys() {
		assert.Contains(t, string(readme), "| `"+k+"` |", "README's configuration table does not list %s", k)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join(testDir, "..", "..")
}

// testDir is the package directory (tests chdir away from it).
var testDir = func() string {
	d, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return d
}()

// A field of a type no kind decodes, or an unknown profile tag, is refused
// when the table is built, not when a file happens to set it.
func TestBuildTableRefusesMistakes(t *testing.T) {
	var all []*setting
	type ok struct {
		A string `toml:"a"`
		T struct {
			B Duration `toml:"b" profile:"lower"`
			C string   `toml:"c" profile:"-"`
			D bool     `toml:"d"`
		} `toml:"t"`
		Skip string `toml:"-"`
	}
	tbl := buildTable(reflect.TypeFor[ok](), nil, "", &all)
	var keys []string
	scopes := map[string]scope{}
	for _, s := range all {
		keys = append(keys, s.key)
		scopes[s.key] = s.scope
	}
	assert.Equal(t, []string{"a", "t.b", "t.c", "t.d"}, keys)
	assert.Equal(t, map[string]scope{"a": hermesOnly, "t.b": lowerOnly, "t.c": hermesOnly, "t.d": anywhere}, scopes)
	assert.Equal(t, []string{"a", "t"}, tbl.names)

	type badKind struct {
		N float64 `toml:"n"`
	}
	assert.PanicsWithValue(t, "config: n has type float64, which no kind decodes", func() { buildTable(reflect.TypeFor[badKind](), nil, "", &all) })
	type badTag struct {
		T struct {
			S string `toml:"s" profile:"never"`
		} `toml:"t"`
	}
	assert.PanicsWithValue(t, `config: t.s: unknown profile tag "never"`, func() { buildTable(reflect.TypeFor[badTag](), nil, "", &all) })
	type badLower struct {
		T struct {
			S string `toml:"s" profile:"lower"`
		} `toml:"t"`
	}
	assert.PanicsWithValue(t, `config: t.s: profile:"lower" on a string, not a number`, func() { buildTable(reflect.TypeFor[badLower](), nil, "", &all) })
}

func TestProblemIsAnError(t *testing.T) {
	clearEnv(t)
	write(t, ".", "hermes.toml", "home = \n")
	_, err := Load("hermes.toml", Overrides{})
	var p Problem
	require.True(t, errors.As(err, &p))
	var pe toml.ParseError
	assert.True(t, errors.As(err, &pe), "the cause of a syntax error is the parser's")
}
