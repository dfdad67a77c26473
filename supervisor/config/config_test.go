package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func clearEnv(t *testing.T) {
	for _, k := range []string{"HERMES_CONFIG", "HERMES_HOME", "S6_PROFILE_GATEWAY_SCANDIR"} {
		t.Setenv(k, "")
	}
	t.Chdir(t.TempDir())
}

func TestLoadPrecedence(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	f := write(t, dir, "h.toml", "home = \"/from/file\"\nscandir = \"/scan/file\"\n[gateway]\nstop_grace = \"3s\"\n")

	c, err := Load(f, Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "/from/file", c.Home)
	assert.Equal(t, f, c.Sources["home"])
	assert.Equal(t, 3*time.Second, c.Gateway.StopGrace.D())
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
}

func TestLoadEnvConfigMustExist(t *testing.T) {
	clearEnv(t)
	t.Setenv("HERMES_CONFIG", "/nonexistent/hermes.toml")
	_, err := Load("", Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/hermes.toml")
}

func TestLoadFallsBackToDefaults(t *testing.T) {
	clearEnv(t)
	c, err := Load("", Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "", c.File)
	assert.Equal(t, "/opt/data", c.Home)
}

func TestLoadErrorsNameFileAndValue(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "[gateway]\nstop_grce = \"1s\"\n", `unknown setting "gateway.stop_grce"`},
		{"bad duration", "[gateway]\nstop_grace = \"ten\"\n", "ten"},
		{"negative grace", "[gateway]\nstop_grace = \"-1s\"\n", "gateway.stop_grace"},
		{"bad on_error", "[policy]\non_error = \"ignore\"\n", "policy.on_error"},
		{"bad sha", "[policy]\nsha256 = \"abc\"\n", "policy.sha256"},
		{"bad size", "[policy]\nmemory_limit = \"lots\"\n", "lots"},
		{"tiny memory", "[policy]\nmemory_limit = \"1KiB\"\n", "policy.memory_limit"},
		{"empty command", "[gateway]\ncommand = []\n", "gateway.command"},
		{"syntax", "home = \n", "line 1"},
		{"timeout too long", "[policy]\ntimeout = \"2m\"\n", "policy.timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := write(t, t.TempDir(), "bad.toml", tt.body)
			_, err := Load(f, Overrides{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "config:")
		})
	}
}

func TestLoadToleratesBOMAndIntegerSize(t *testing.T) {
	clearEnv(t)
	f := write(t, t.TempDir(), "h.toml", "\ufeff[policy]\nmemory_limit = 1048576\n")
	c, err := Load(f, Overrides{})
	require.NoError(t, err)
	assert.Equal(t, ByteSize(1<<20), c.Policy.MemoryLimit)
	assert.Equal(t, "1MiB", c.Policy.MemoryLimit.String())
}

func TestForProfile(t *testing.T) {
	clearEnv(t)
	c, err := Load("", Overrides{Home: "/h"})
	require.NoError(t, err)
	dir := t.TempDir()
	p := write(t, dir, "profile.toml", "model = \"x\"\n[gateway]\ncommand = [\"/bin/gw\"]\n[policy]\nmodule = \"/m.wasm\"\n[policy.params]\nmax = 3\n")
	pc, err := c.ForProfile(p)
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/gw"}, pc.Gateway.Command)
	assert.Equal(t, "/m.wasm", pc.Policy.Module)
	assert.Equal(t, map[string]any{"max": int64(3)}, pc.Policy.Params)
	assert.Equal(t, p, pc.Sources["gateway.command"])
	// the base configuration is untouched
	assert.Equal(t, []string{"hermes", "gateway", "run", "--replace"}, c.Gateway.Command)

	missing, err := c.ForProfile(filepath.Join(dir, "nope.toml"))
	require.NoError(t, err)
	assert.Equal(t, c.Gateway.Command, missing.Gateway.Command)

	bad := write(t, dir, "bad.toml", "home = \"/elsewhere\"\n")
	_, err = c.ForProfile(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only [gateway] and [policy]")

	for _, user := range []string{`""`, `"root"`, `"hermes"`} {
		escalate := write(t, dir, "user.toml", "[gateway]\nuser = "+user+"\n")
		_, err = c.ForProfile(escalate)
		require.Error(t, err, "user = %s", user)
		assert.Contains(t, err.Error(), "gateway.user may only be set in hermes.toml")
		assert.Contains(t, err.Error(), escalate)
	}
}
