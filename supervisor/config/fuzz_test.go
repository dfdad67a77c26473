package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: hermes.toml and profile.toml are outside input. Every refusal
// is one line starting "config:", naming the file; Load and ForProfile
// return the first problem Check and CheckProfile list; nothing panics.
// Seeds: testdata/fuzz/.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("home = \"/opt/data\"\n[gateway]\ncommand = [\"hermes\", \"gateway\", \"run\"]\nstop_grace = \"10s\"\n[policy]\nmemory_limit = \"16MiB\"\n[policy.params]\nmultiplex_profiles = true\n"))
	f.Add([]byte("[policy]\nmemory_limit = 1048576\ntimeout = \"-1s\"\n"))
	f.Add([]byte("[gateway]\nuser = \"root\"\n"))
	f.Add([]byte("bogus = 1\n"))
	f.Add([]byte("[gateway]\nstop_grase = 10\nstop_grace = 10\n[[policy]]\n"))
	f.Add([]byte("[Gateway]\nUser = \"root\"\n[policy]\ncache_dir = \"/x\"\ntimeout = \"1m\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Setenv("HERMES_HOME", "")
		t.Setenv("S6_PROFILE_GATEWAY_SCANDIR", "")
		dir := t.TempDir()
		path := filepath.Join(dir, "hermes.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		oneLine := func(err error) {
			if err != nil && (!strings.HasPrefix(err.Error(), "config: ") || strings.ContainsAny(err.Error(), "\n\r\x1b")) {
				t.Fatalf("not one line prefixed config: %q", err)
			}
		}
		same := func(err error, ps []Problem) {
			oneLine(err)
			for _, p := range ps {
				oneLine(p)
				if p.File != path || !strings.Contains(p.Message, path) {
					t.Fatalf("problem does not name %s: %+v", path, p)
				}
			}
			if (err == nil) != (len(ps) == 0) || err != nil && err.Error() != ps[0].Error() {
				t.Fatalf("first error %v, problems %v", err, ps)
			}
		}
		_, err := Load(path, Overrides{})
		_, ps := Check(path, Overrides{})
		same(err, ps)
		_, err = Default().ForProfile(path)
		_, ps = Default().CheckProfile(path)
		same(err, ps)
	})
}
