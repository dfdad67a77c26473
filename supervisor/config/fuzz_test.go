package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: hermes.toml and profile.toml are outside input. Every refusal
// is one line starting "config:"; nothing panics. Seeds: testdata/fuzz/.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("home = \"/opt/data\"\n[gateway]\ncommand = [\"hermes\", \"gateway\", \"run\"]\nstop_grace = \"10s\"\n[policy]\nmemory_limit = \"16MiB\"\n[policy.params]\nmultiplex_profiles = true\n"))
	f.Add([]byte("[policy]\nmemory_limit = 1048576\ntimeout = \"-1s\"\n"))
	f.Add([]byte("[gateway]\nuser = \"root\"\n"))
	f.Add([]byte("bogus = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Setenv("HERMES_HOME", "")
		t.Setenv("S6_PROFILE_GATEWAY_SCANDIR", "")
		dir := t.TempDir()
		path := filepath.Join(dir, "hermes.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		oneLine := func(err error) {
			if err != nil && (!strings.HasPrefix(err.Error(), "config: ") || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("not one line prefixed config: %q", err)
			}
		}
		_, err := Load(path, Overrides{})
		oneLine(err)
		_, err = Default().ForProfile(path)
		oneLine(err)
	})
}
