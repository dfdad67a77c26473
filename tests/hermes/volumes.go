package hermes

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Rules a generated volume exercises; they group the parity differences.
const (
	RuleDesiredRaw       = "desired_state is used raw"
	RuleDesiredNonString = "desired_state that is not a string"
	RuleGatewayState     = "gateway_state mapping (no desired_state)"
	RuleJSONDialect      = "JSON dialect and encodings of gateway_state.json"
	RuleMarker           = "profile marker (SOUL.md / profile.toml)"
	RuleProfilesDefault  = "profiles/default"
	RuleOrdering         = "line order"
	RuleProfilesNode     = "profiles/ that is not a directory"
	RuleLedger           = "prior_exit from state/gateway.lifecycle.json"
	RuleHidden           = "hidden directories under profiles/"
	RuleInvalidName      = "invalid profile names"
	RuleSymlinks         = "symlinked profile directories and state files"
	RuleRuntimeFiles     = "runtime files (gateway.pid, processes.json)"
	RuleLegacyMigration  = "root: legacy `gateway run` command migration"
	RuleBootstrap        = "root: HERMES_GATEWAY_BOOTSTRAP_STATE"
	RuleMultiplex        = "multiplex_profiles"
	RulePlain            = "plain profile"
)

// Volume is one generated $HERMES_HOME and the other inputs of a boot.
type Volume struct {
	Name     string
	Rule     string        // the volume-level rule (boot failures, order, missing lines)
	Root     ProfileSpec   // files of the root profile, written into the home itself
	Profiles []ProfileSpec // named profiles, created under profiles/
	// Layout runs after the profiles are built, for volume-level shapes
	// (profiles/ as a file, a symlink ...).
	Layout    func(home string) error
	Argv      []string // container command upstream's legacy migration inspects
	Bootstrap string   // HERMES_GATEWAY_BOOTSTRAP_STATE
	Env       []string // upstream's environment (GATEWAY_MULTIPLEX_PROFILES=...)
	// Multiplex is our [policy.params] multiplex_profiles for this boot.
	Multiplex bool
}

// ProfileSpec is one profile's directory.
type ProfileSpec struct {
	Name string
	Rule string
	// Build fills the directory dir, which exists (a plain directory)
	// unless Own is set: then Build creates dir itself (a symlink ...).
	Build func(dir string) error
	Own   bool
}

// Build writes the volume under home (an empty directory).
func (v Volume) Build(home string) error {
	if v.Root.Build != nil {
		if err := v.Root.Build(home); err != nil {
			return fmt.Errorf("volume %s: root: %w", v.Name, err)
		}
	}
	for _, p := range v.Profiles {
		dir := filepath.Join(home, "profiles", p.Name)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if !p.Own {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return fmt.Errorf("volume %s: profile %q: %w", v.Name, p.Name, err)
			}
		}
		if p.Build != nil {
			if err := p.Build(dir); err != nil {
				return fmt.Errorf("volume %s: profile %q: %w", v.Name, p.Name, err)
			}
		}
	}
	if v.Layout != nil {
		if err := v.Layout(home); err != nil {
			return fmt.Errorf("volume %s: layout: %w", v.Name, err)
		}
	}
	return nil
}

// RuleOf is the rule of the named profile of v ("default": the root's).
func (v Volume) RuleOf(name string) string {
	if name == "default" && v.Root.Rule != "" {
		return v.Root.Rule
	}
	for _, p := range v.Profiles {
		if p.Name == name && p.Rule != "" {
			return p.Rule
		}
	}
	return v.Rule
}

// File builders.

func write(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func soul(dir string) error { return write(filepath.Join(dir, "SOUL.md"), "# profile\n") }

func stateFile(raw string) func(string) error {
	return func(dir string) error { return write(filepath.Join(dir, "gateway_state.json"), raw) }
}

func ledgerFile(raw string) func(string) error {
	return func(dir string) error {
		return write(filepath.Join(dir, "state", "gateway.lifecycle.json"), raw)
	}
}

func all(fs ...func(string) error) func(string) error {
	return func(dir string) error {
		for _, f := range fs {
			if err := f(dir); err != nil {
				return err
			}
		}
		return nil
	}
}

// profile is a SOUL.md profile with the given gateway_state.json (none when raw is "").
func profile(name, rule, raw string, more ...func(string) error) ProfileSpec {
	fs := []func(string) error{soul}
	if raw != "" {
		fs = append(fs, stateFile(raw))
	}
	return ProfileSpec{Name: name, Rule: rule, Build: all(append(fs, more...)...)}
}

// single is a volume holding one named profile.
func single(name, rule string, p ProfileSpec) Volume {
	if p.Name == "" {
		p.Name = "coder"
	}
	if p.Rule == "" {
		p.Rule = rule
	}
	return Volume{Name: name, Rule: rule, Profiles: []ProfileSpec{p}}
}

func stateJSON(gateway, desired string) string {
	var kv []string
	if gateway != "" {
		kv = append(kv, `"gateway_state":`+gateway)
	}
	if desired != "" {
		kv = append(kv, `"desired_state":`+desired)
	}
	kv = append(kv, `"timestamp":1234567890`)
	return "{" + strings.Join(kv, ",") + "}"
}

// label turns a JSON value into a volume-name fragment.
func label(raw string) string {
	if raw == "" {
		return "absent"
	}
	r := strings.NewReplacer(`"`, "", " ", "␠", "\n", `\n`, "/", "∕")
	return r.Replace(raw)
}

// Cases returns the generated volumes: one family per boot rule, then
// mixed volumes drawn at random (seeded: the same seed gives the same
// volumes) from the profile-level specs.
func Cases(seed uint64, mixed int) []Volume {
	var vs []Volume
	add := func(v ...Volume) { vs = append(vs, v...) }

	// desired_state, raw: present (even "") wins; not trimmed; no mapping.
	desired := []string{`""`, `" running"`, `"running\n"`, `"Running"`, `"RUNNING"`, `"draining"`, `"degraded"`,
		`"starting"`, `"startup_failed"`, `"stopped"`, `"running"`, `"bogus"`, `null`}
	gw := []string{"", `"running"`, `"stopped"`, `"draining"`}
	for _, d := range desired {
		for _, g := range gw {
			add(single("desired="+label(d)+",gateway="+label(g), RuleDesiredRaw,
				profile("coder", "", stateJSON(g, d))))
		}
	}
	for _, d := range []string{`1`, `0`, `true`, `false`, `1.5`, `[]`, `{}`, `["running"]`, `{"state":"running"}`} {
		add(single("desired="+label(d), RuleDesiredNonString, profile("coder", "", stateJSON(`"running"`, d))))
	}

	// gateway_state alone.
	for _, g := range []string{`"running"`, `"stopped"`, `"draining"`, `"degraded"`, `"starting"`, `"startup_failed"`,
		`""`, `" running"`, `"Draining"`, `"DEGRADED"`, `"other"`, `null`, `0`, `true`, `[]`, `{}`} {
		add(single("gateway="+label(g), RuleGatewayState, profile("coder", "", stateJSON(g, ""))))
	}
	add(single("no-state-keys", RuleGatewayState, profile("coder", "", `{"timestamp":1}`)))
	add(single("empty-object", RuleGatewayState, profile("coder", "", `{}`)))
	add(single("no-state-file", RuleGatewayState, profile("coder", "", "")))

	// JSON dialects and encodings.
	dialects := []struct{ name, raw string }{
		{"nan-timestamp", `{"gateway_state":"running","timestamp":NaN}`},
		{"infinity-key", `{"gateway_state":"running","x":Infinity}`},
		{"minus-infinity", `{"gateway_state":"running","x":-Infinity}`},
		{"nan-desired", `{"gateway_state":"running","desired_state":NaN}`},
		{"float-overflow", `{"gateway_state":"running","timestamp":1e400}`},
		{"bigint", `{"gateway_state":"running","timestamp":123456789012345678901234567890}`},
		{"bom", "\ufeff" + `{"gateway_state":"running"}`},
		{"trailing-data", `{"gateway_state":"running"} x`},
		{"two-objects", `{"gateway_state":"running"}{"gateway_state":"stopped"}`},
		{"trailing-newlines", "{\"gateway_state\":\"running\"}\n\n"},
		{"crlf", "{\r\n\"gateway_state\": \"running\"\r\n}\r\n"},
		{"whitespace-only", " \n\t"},
		{"empty", ""},
		{"null", `null`},
		{"array", `[]`},
		{"string", `"running"`},
		{"number", `42`},
		{"duplicate-keys", `{"gateway_state":"stopped","gateway_state":"running"}`},
		{"duplicate-desired", `{"desired_state":"running","desired_state":"stopped","gateway_state":"running"}`},
		{"escaped", `{"gateway_state":"run\u006eing"}`},
		{"not-utf8-value", "{\"gateway_state\":\"running\",\"x\":\"\xff\"}"},
		{"latin1-only", "{\"gateway_state\":\"running\",\"who\":\"caf\xe9\"}"},
		{"utf16", "\xff\xfe{\x00\"\x00g\x00a\x00t\x00e\x00w\x00a\x00y\x00_\x00s\x00t\x00a\x00t\x00e\x00\"\x00:\x00\"\x00r\x00u\x00n\x00n\x00i\x00n\x00g\x00\"\x00}\x00"},
		{"trailing-comma", `{"gateway_state":"running",}`},
		{"single-quotes", `{'gateway_state':'running'}`},
		{"comment", "// state\n{\"gateway_state\":\"running\"}"},
		{"nul-in-value", `{"gateway_state":"running\u0000"}`},
		{"deep-nesting", `{"gateway_state":"running","x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`},
	}
	for _, d := range dialects {
		raw := d.raw
		add(single("json-"+d.name, RuleJSONDialect, ProfileSpec{Name: "coder", Build: all(soul, stateFile(raw))}))
	}

	// Profile markers.
	running := stateFile(`{"gateway_state":"running"}`)
	markers := []struct {
		name  string
		build func(dir string) error
	}{
		{"soul-file", soul},
		{"soul-empty", func(d string) error { return write(filepath.Join(d, "SOUL.md"), "") }},
		{"soul-dir", func(d string) error { return os.Mkdir(filepath.Join(d, "SOUL.md"), 0o755) }},
		{"soul-symlink-file", func(d string) error {
			if err := write(filepath.Join(d, "soul.txt"), "x"); err != nil {
				return err
			}
			return os.Symlink("soul.txt", filepath.Join(d, "SOUL.md"))
		}},
		{"soul-symlink-dir", func(d string) error {
			if err := os.Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
				return err
			}
			return os.Symlink("sub", filepath.Join(d, "SOUL.md"))
		}},
		{"soul-dangling", func(d string) error { return os.Symlink("nowhere", filepath.Join(d, "SOUL.md")) }},
		{"soul-fifo", func(d string) error { return syscall.Mkfifo(filepath.Join(d, "SOUL.md"), 0o644) }},
		{"soul-lowercase", func(d string) error { return write(filepath.Join(d, "soul.md"), "x") }},
		{"no-marker", func(string) error { return nil }},
		{"profile-toml-only", func(d string) error { return write(filepath.Join(d, "profile.toml"), "") }},
		{"profile-toml-dir", func(d string) error { return os.Mkdir(filepath.Join(d, "profile.toml"), 0o755) }},
		{"both-markers", all(soul, func(d string) error { return write(filepath.Join(d, "profile.toml"), "") })},
	}
	for _, m := range markers {
		add(single("marker-"+m.name, RuleMarker, ProfileSpec{Name: "coder", Build: all(m.build, running)}))
	}

	// profiles/default.
	add(Volume{Name: "profiles-default-running", Rule: RuleProfilesDefault, Profiles: []ProfileSpec{
		profile("default", RuleProfilesDefault, `{"gateway_state":"running"}`), profile("coder", RulePlain, `{"gateway_state":"running"}`)}})
	add(Volume{Name: "profiles-default-no-marker", Rule: RuleProfilesDefault, Profiles: []ProfileSpec{
		{Name: "default", Rule: RuleProfilesDefault, Build: running}}})
	add(Volume{Name: "profiles-default-toml", Rule: RuleProfilesDefault, Profiles: []ProfileSpec{
		{Name: "default", Rule: RuleProfilesDefault, Build: func(d string) error { return write(filepath.Join(d, "profile.toml"), "") }}}})
	add(Volume{Name: "profiles-default-root-running", Rule: RuleProfilesDefault,
		Root:     ProfileSpec{Rule: RuleProfilesDefault, Build: stateFile(`{"gateway_state":"running"}`)},
		Profiles: []ProfileSpec{profile("default", RuleProfilesDefault, `{"gateway_state":"stopped"}`)}})

	// Order of the lines.
	var ordered []ProfileSpec
	for i, n := range []string{"b", "a", "a-b", "a_b", "a0", "aa", "0", "z9", "a-", "a--b", "ab_"} {
		st := `{"gateway_state":"running"}`
		if i%2 == 1 {
			st = `{"gateway_state":"stopped"}`
		}
		ordered = append(ordered, profile(n, RuleOrdering, st))
	}
	add(Volume{Name: "order-valid-names", Rule: RuleOrdering, Profiles: ordered})
	add(Volume{Name: "order-with-skipped", Rule: RuleOrdering, Profiles: []ProfileSpec{
		profile("alpha", RuleOrdering, `{"gateway_state":"running"}`),
		symlinkedProfile("mid", RuleOrdering),
		profile("zulu", RuleOrdering, `{"gateway_state":"running"}`),
		{Name: "kilo", Rule: RuleOrdering, Build: running}, // no marker
		profile("default", RuleOrdering, `{"gateway_state":"running"}`),
	}})
	add(Volume{Name: "order-with-invalid", Rule: RuleOrdering, Profiles: []ProfileSpec{
		profile("alpha", RuleOrdering, `{"gateway_state":"running"}`),
		profile("Mike", RuleOrdering, `{"gateway_state":"running"}`),
		profile("zulu", RuleOrdering, `{"gateway_state":"stopped"}`),
	}})
	add(Volume{Name: "order-non-ascii", Rule: RuleOrdering, Profiles: []ProfileSpec{
		profile("b", RuleOrdering, `{"gateway_state":"running"}`),
		profile("é", RuleOrdering, `{"gateway_state":"running"}`),
		profile("😀", RuleOrdering, `{"gateway_state":"running"}`),
		profile("\xff", RuleOrdering, `{"gateway_state":"running"}`),
	}})

	// profiles/ that is not a directory.
	rootRunning := ProfileSpec{Rule: RuleProfilesNode, Build: stateFile(`{"gateway_state":"running"}`)}
	nodes := []struct {
		name   string
		layout func(home string) error
	}{
		{"file", func(h string) error { return write(filepath.Join(h, "profiles"), "not a directory\n") }},
		{"symlink-to-dir", func(h string) error {
			if err := os.MkdirAll(filepath.Join(h, "elsewhere", "coder"), 0o755); err != nil {
				return err
			}
			if err := all(soul, running)(filepath.Join(h, "elsewhere", "coder")); err != nil {
				return err
			}
			return os.Symlink("elsewhere", filepath.Join(h, "profiles"))
		}},
		{"symlink-dangling", func(h string) error { return os.Symlink("nowhere", filepath.Join(h, "profiles")) }},
		{"symlink-to-file", func(h string) error {
			if err := write(filepath.Join(h, "afile"), "x"); err != nil {
				return err
			}
			return os.Symlink("afile", filepath.Join(h, "profiles"))
		}},
		{"missing", func(string) error { return nil }},
		{"empty-dir", func(h string) error { return os.Mkdir(filepath.Join(h, "profiles"), 0o755) }},
	}
	for _, n := range nodes {
		add(Volume{Name: "profiles-" + n.name, Rule: RuleProfilesNode, Root: rootRunning, Layout: n.layout})
	}

	// prior_exit from the ledger.
	ledgers := []struct{ name, raw string }{
		{"none", ""},
		{"exited-ours", `{"phase":"exited","started_at":"2026-11-25T21:00:00Z","exited_at":"2026-11-25T21:05:00Z","exit_code":0,"reason":"operator stop","supervisor_pid":40,"supervisor_start_time":100}`},
		{"running-ours", `{"phase":"running","started_at":"2026-11-25T21:00:00Z","supervisor_pid":40,"supervisor_start_time":100}`},
		{"running-gateway", `{"phase":"running","pid":123,"start_time":1796229620.03,"started_at":"2026-12-02T16:40:20.1+00:00","create_time":1796229619.9}`},
		{"exited-gateway", `{"phase":"exited","pid":123,"exit_code":null,"exit_reason":"graceful_shutdown","exited_at":"2026-12-02T16:45:00+00:00","start_time":1796229620.03}`},
		{"exit-code-string", `{"phase":"exited","exit_code":"0"}`},
		{"started-at-odd", `{"phase":"exited","started_at":"yesterday"}`},
		{"started-at-number", `{"phase":"running","started_at":1796229620}`},
		{"nan", `{"phase":"exited","exit_code":NaN}`},
		{"bom", "\ufeff" + `{"phase":"exited"}`},
		{"not-utf8", "{\"phase\":\"exited\",\"x\":\"\xff\"}"},
		{"phase-upper", `{"phase":"EXITED"}`},
		{"phase-null", `{"phase":null}`},
		{"phase-number", `{"phase":1}`},
		{"phase-list", `{"phase":["exited"]}`},
		{"phase-missing", `{"exit_code":0}`},
		{"phase-other", `{"phase":"stopping"}`},
		{"duplicate-phase", `{"phase":"exited","phase":"running"}`},
		{"array", `[]`},
		{"null", `null`},
		{"garbage", `{phase: exited`},
		{"whitespace", " "},
	}
	for _, l := range ledgers {
		b := []func(string) error{soul, running}
		if l.raw != "" {
			b = append(b, ledgerFile(l.raw))
		}
		add(single("ledger-"+l.name, RuleLedger, ProfileSpec{Name: "coder", Build: all(b...)}))
	}
	add(single("ledger-dir", RuleLedger, ProfileSpec{Name: "coder", Build: all(soul, running, func(d string) error {
		return os.MkdirAll(filepath.Join(d, "state", "gateway.lifecycle.json"), 0o755)
	})}))
	add(single("ledger-state-is-file", RuleLedger, ProfileSpec{Name: "coder", Build: all(soul, running, func(d string) error {
		return write(filepath.Join(d, "state"), "x")
	})}))
	add(Volume{Name: "ledger-root-running", Rule: RuleLedger,
		Root: ProfileSpec{Rule: RuleLedger, Build: all(running, ledgerFile(`{"phase":"running"}`))}})

	// Hidden directories.
	add(Volume{Name: "hidden-with-marker", Rule: RuleHidden, Profiles: []ProfileSpec{
		profile(".hidden", RuleHidden, `{"gateway_state":"running"}`), profile("coder", RulePlain, `{"gateway_state":"running"}`)}})
	add(Volume{Name: "hidden-git", Rule: RuleHidden, Profiles: []ProfileSpec{
		{Name: ".git", Rule: RuleHidden, Build: func(d string) error { return write(filepath.Join(d, "HEAD"), "ref\n") }},
		profile("coder", RulePlain, `{"gateway_state":"stopped"}`)}})
	add(Volume{Name: "hidden-tmp-slot-name", Rule: RuleHidden, Profiles: []ProfileSpec{
		profile(".coder.tmp", RuleHidden, `{"gateway_state":"running"}`)}})

	// Invalid names.
	for _, n := range []string{"Bad", "bad name", "-x", "_x", "x.y", "é", "\xff", "a\nb", strings.Repeat("a", 252)} {
		add(Volume{Name: "name-" + label(n), Rule: RuleInvalidName, Profiles: []ProfileSpec{
			profile(n, RuleInvalidName, `{"gateway_state":"running"}`), profile("coder", RulePlain, `{"gateway_state":"running"}`)}})
	}
	// Valid for boot on both sides, but `hermes -p NAME` refuses them
	// (hermes_cli/profiles.py: at most 64 characters, reserved names).
	for _, n := range []string{strings.Repeat("a", 251), strings.Repeat("b", 64), strings.Repeat("c", 65), "test", "hermes", "tmp", "root", "sudo"} {
		add(Volume{Name: "name-" + label(n[:min(len(n), 12)]) + fmt.Sprintf("-%d", len(n)), Rule: RuleInvalidName,
			Profiles: []ProfileSpec{profile(n, RuleInvalidName, `{"gateway_state":"running"}`)}})
	}

	// Symlinks.
	add(Volume{Name: "symlink-profile-dir", Rule: RuleSymlinks, Profiles: []ProfileSpec{
		symlinkedProfile("coder", RuleSymlinks), profile("writer", RulePlain, `{"gateway_state":"running"}`)}})
	add(single("symlink-state-file", RuleSymlinks, ProfileSpec{Name: "coder", Build: all(soul, func(d string) error {
		if err := write(filepath.Join(d, "real-state.json"), `{"gateway_state":"running"}`); err != nil {
			return err
		}
		return os.Symlink("real-state.json", filepath.Join(d, "gateway_state.json"))
	})}))
	add(single("symlink-state-dangling", RuleSymlinks, ProfileSpec{Name: "coder", Build: all(soul, func(d string) error {
		return os.Symlink("nowhere.json", filepath.Join(d, "gateway_state.json"))
	})}))
	add(single("state-file-is-dir", RuleSymlinks, ProfileSpec{Name: "coder", Build: all(soul, func(d string) error {
		return os.Mkdir(filepath.Join(d, "gateway_state.json"), 0o755)
	})}))
	add(Volume{Name: "symlink-root-state", Rule: RuleSymlinks, Root: ProfileSpec{Rule: RuleSymlinks, Build: func(h string) error {
		if err := write(filepath.Join(h, "real-state.json"), `{"gateway_state":"running"}`); err != nil {
			return err
		}
		return os.Symlink("real-state.json", filepath.Join(h, "gateway_state.json"))
	}}})

	// Runtime files.
	rt := []struct {
		name  string
		build func(string) error
	}{
		{"pid-json", func(d string) error {
			return write(filepath.Join(d, "gateway.pid"), `{"pid": 99999, "host": "old-container"}`)
		}},
		{"pid-bare", func(d string) error { return write(filepath.Join(d, "gateway.pid"), "99999\n") }},
		{"pid-dir", func(d string) error { return os.Mkdir(filepath.Join(d, "gateway.pid"), 0o755) }},
		{"pid-symlink", func(d string) error { return os.Symlink("/etc/hostname", filepath.Join(d, "gateway.pid")) }},
		{"processes-dir", func(d string) error { return os.Mkdir(filepath.Join(d, "processes.json"), 0o755) }},
		{"processes-file", func(d string) error { return write(filepath.Join(d, "processes.json"), "[]") }},
	}
	for _, r := range rt {
		add(single("runtime-"+r.name, RuleRuntimeFiles, ProfileSpec{Name: "coder", Build: all(soul, running, r.build)}))
		add(Volume{Name: "runtime-root-" + r.name, Rule: RuleRuntimeFiles,
			Root: ProfileSpec{Rule: RuleRuntimeFiles, Build: all(running, r.build)}})
	}

	// The root profile: legacy command migration and bootstrap state.
	argvs := []struct {
		name string
		argv []string
	}{
		{"bare", []string{"gateway", "run"}},
		{"s6v2", []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"}},
		{"s6v3", []string{"/bin/sh", "-e", "/run/s6/basedir/scripts/rc.init", "top", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run"}},
		{"hermes-argv0", []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "hermes", "gateway", "run", "-v"}},
		{"replace", []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "gateway", "run", "--replace"}},
		{"no-supervise", []string{"gateway", "run", "--no-supervise"}},
		{"gateway-only", []string{"gateway"}},
		{"dashboard", []string{"/init", "/opt/hermes/docker/main-wrapper.sh", "dashboard"}},
		{"sleep", []string{"sleep", "infinity"}},
		{"profile-flag", []string{"gateway", "run", "-p", "coder"}},
	}
	roots := []struct {
		name  string
		build func(string) error
	}{
		{"no-state", nil},
		{"stopped", stateFile(`{"gateway_state":"stopped"}`)},
		{"garbage", stateFile(`{not json`)},
		{"state-dir", func(h string) error { return os.Mkdir(filepath.Join(h, "gateway_state.json"), 0o755) }},
	}
	for _, a := range argvs {
		for _, r := range roots {
			add(Volume{Name: "legacy-" + a.name + "-" + r.name, Rule: RuleLegacyMigration, Argv: a.argv,
				Root: ProfileSpec{Rule: RuleLegacyMigration, Build: r.build}})
		}
	}
	add(Volume{Name: "legacy-env-no-supervise", Rule: RuleLegacyMigration, Argv: []string{"gateway", "run"},
		Env: []string{"HERMES_GATEWAY_NO_SUPERVISE=1"}, Root: ProfileSpec{Rule: RuleLegacyMigration}})
	for _, b := range []string{"running", "Running", "stopped", "1", " running"} {
		for _, r := range append(roots, struct {
			name  string
			build func(string) error
		}{"dangling-symlink", func(h string) error { return os.Symlink("nowhere", filepath.Join(h, "gateway_state.json")) }}) {
			add(Volume{Name: "bootstrap-" + label(`"`+b+`"`) + "-" + r.name, Rule: RuleBootstrap, Bootstrap: b,
				Root: ProfileSpec{Rule: RuleBootstrap, Build: r.build}})
		}
	}
	add(Volume{Name: "bootstrap-and-legacy", Rule: RuleBootstrap, Bootstrap: "running", Argv: []string{"gateway", "run"},
		Root: ProfileSpec{Rule: RuleBootstrap}})

	// Multiplexing.
	for _, e := range []string{"true", "1", "yes", "on", "TRUE", " true ", "false", "", "2"} {
		for _, ours := range []bool{false, true} {
			add(Volume{Name: fmt.Sprintf("multiplex-env=%s-ours=%t", label(`"`+e+`"`), ours), Rule: RuleMultiplex,
				Env: []string{"GATEWAY_MULTIPLEX_PROFILES=" + e}, Multiplex: ours,
				Root:     ProfileSpec{Rule: RuleMultiplex, Build: running},
				Profiles: []ProfileSpec{profile("coder", RuleMultiplex, `{"gateway_state":"running"}`)}})
		}
	}

	// Mixed volumes: several profiles drawn from the profile-level specs.
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pool := profilePool()
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "fox", "golf", "hotel", "india", "juliet",
		"k9", "lima-2", "mike_3", "november", "oscar"}
	for i := range mixed {
		n := 2 + r.IntN(5)
		perm := r.Perm(len(names))[:n]
		v := Volume{Name: fmt.Sprintf("mixed-%03d", i), Rule: "mixed volume"}
		rootSpec := pool[r.IntN(len(pool))]
		v.Root = ProfileSpec{Rule: rootSpec.rule, Build: rootSpec.rootBuild()}
		for _, j := range perm {
			s := pool[r.IntN(len(pool))]
			v.Profiles = append(v.Profiles, ProfileSpec{Name: names[j], Rule: s.rule, Build: all(soul, s.build)})
		}
		add(v)
	}
	return vs
}

type pooled struct {
	rule  string
	build func(string) error
}

// rootBuild is the spec for the root profile (no SOUL.md needed there).
func (p pooled) rootBuild() func(string) error { return p.build }

// profilePool is the profile-level specs the mixed volumes draw from.
func profilePool() []pooled {
	var pool []pooled
	for _, d := range []string{"", `""`, `" running"`, `"running"`, `"stopped"`, `"draining"`, `"degraded"`} {
		for _, g := range []string{"", `"running"`, `"stopped"`, `"draining"`, `"degraded"`, `"starting"`} {
			if d == "" && g == "" {
				pool = append(pool, pooled{RulePlain, func(string) error { return nil }})
				continue
			}
			rule := RuleGatewayState
			if d != "" {
				rule = RuleDesiredRaw
			}
			pool = append(pool, pooled{rule, stateFile(stateJSON(g, d))})
		}
	}
	for _, raw := range []string{`{"gateway_state":"running","timestamp":NaN}`, "\ufeff" + `{"gateway_state":"running"}`, `{"gateway_state":`} {
		pool = append(pool, pooled{RuleJSONDialect, stateFile(raw)})
	}
	for _, l := range []string{`{"phase":"exited","exit_code":"0"}`, `{"phase":"running"}`, `{"phase":"exited"}`, "{\"phase\":\"exited\",\"x\":\"\xff\"}"} {
		pool = append(pool, pooled{RuleLedger, all(stateFile(`{"gateway_state":"running"}`), ledgerFile(l))})
	}
	return pool
}

// symlinkedProfile is profiles/<name> as a symlink to a real profile
// directory elsewhere on the volume.
func symlinkedProfile(name, rule string) ProfileSpec {
	return ProfileSpec{Name: name, Rule: rule, Own: true, Build: func(dir string) error {
		real := filepath.Join(filepath.Dir(filepath.Dir(dir)), "real-"+name)
		if err := os.MkdirAll(real, 0o755); err != nil {
			return err
		}
		if err := all(soul, stateFile(`{"gateway_state":"running"}`))(real); err != nil {
			return err
		}
		return os.Symlink(real, dir)
	}}
}
