package main

// Options -> output, with fake IO streams.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policies"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// TestDurationKeys holds durationKeys to the time.Duration fields of what
// the commands print in JSON: a new duration field under another key
// would be printed in nanoseconds.
func TestDurationKeys(t *testing.T) {
	var walk func(reflect.Type, map[reflect.Type]bool)
	walk = func(ty reflect.Type, seen map[reflect.Type]bool) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for i := range ty.NumField() {
			fl := ty.Field(i)
			key, _, _ := strings.Cut(fl.Tag.Get("json"), ",")
			if key == "-" || !fl.IsExported() {
				continue
			}
			if fl.Type == reflect.TypeFor[time.Duration]() || fl.Type == reflect.TypeFor[*time.Duration]() {
				assert.True(t, durationKeys[key], "%s.%s (json %q) is a duration: add it to durationKeys", ty, fl.Name, key)
			}
			walk(fl.Type, seen)
		}
	}
	seen := map[reflect.Type]bool{}
	for _, v := range []any{journal.Explained{}, journal.Entry{}, hostabi.Input{}, hostabi.Decision{}, configReport{}, inspected{}, bootOutcome{}, ops.Profile{}} {
		walk(reflect.TypeOf(v), seen)
	}
}

func TestWriteJSONDurations(t *testing.T) {
	var b strings.Builder
	v := struct {
		Name     string           `json:"name"`
		Decision hostabi.Decision `json:"decision"`
		Uptimes  []hostabi.ExitRecord
		Note     string `json:"note"`
	}{"x", hostabi.Decision{Delay: 2 * time.Second, Reason: "a <b> & c"},
		[]hostabi.ExitRecord{{Uptime: 90 * time.Second}}, "z"}
	require.NoError(t, writeJSON(&b, v))
	out := b.String()
	assert.Contains(t, out, `"delay": "2s"`)
	assert.Contains(t, out, `"uptime": "1m30s"`)
	assert.Contains(t, out, `"reason": "a <b> & c"`, "no HTML escaping")
	assert.Less(t, strings.Index(out, `"name"`), strings.Index(out, `"note"`), "the keys keep their order")
	var back map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &back), out)
}

func TestStatusTable(t *testing.T) {
	up := &s6.Status{Up: true, WantedUp: true, Ready: true, Pid: 42, Since: 3 * time.Second, ExitCode: -1}
	down := &s6.Status{ExitCode: 0, Since: time.Minute}
	sts := []ops.Status{
		{Profile: "default", Registered: true, S6: up, GatewayState: "running", DesiredState: "running"},
		{Profile: "fresh", Registered: true, S6: down, NeverRan: true},
		{Profile: "stopped", Registered: true, S6: down, GatewayState: "stopped", DesiredState: "running",
			Notes: []string{"stopped for good by policy crashloop@9d1e0c4a: crash loop"}},
		{Profile: "broken", StateError: "state: unreadable", Notes: []string{"config: unknown setting"}},
	}
	io, out, _ := testStreams(false)
	require.NoError(t, statusTable(io, sts))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5)
	assert.Equal(t, "PROFILE\tS6\tPID\tUPTIME/DOWNTIME\tREADY\tLAST_EXIT\tGATEWAY_STATE\tDESIRED_STATE\tNOTE", lines[0], "tab-separated when not a terminal")
	assert.Equal(t, "default\tup\t42\t3s\ttrue\t-\trunning\trunning\t-", lines[1])
	assert.Equal(t, "fresh\tdown\t-\t1m0s\tfalse\t-\t-\t-\t-", lines[2], "LAST_EXIT is - for a slot that never ran")
	assert.Equal(t, "stopped\tdown\t-\t1m0s\tfalse\texit 0\tstopped\trunning\tstopped for good by policy crashloop@9d1e0c4a: crash loop", lines[3])
	assert.Equal(t, "broken\tunregistered\t-\t-\t-\t-\t-\t-\tstate: unreadable; config: unknown setting", lines[4])

	io, out, _ = testStreams(true)
	require.NoError(t, statusTable(io, sts[:1]))
	assert.NotContains(t, out.String(), "\t", "aligned on a terminal")
}

// explainEntry is a journalled exit decision with a history of exits.
func explainEntry(params hostabi.Params, fallback bool) journal.Entry {
	now := time.Date(2026, 11, 25, 20, 10, 0, 0, time.UTC)
	var hist []hostabi.ExitRecord
	for _, ago := range []time.Duration{20 * time.Minute, 4 * time.Minute, time.Minute} {
		hist = append(hist, hostabi.ExitRecord{Time: now.Add(-ago), ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart})
	}
	return journal.Entry{Time: now, Profile: "coder", Kind: hostabi.KindExit, Source: journal.SourceRun,
		Input:    hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "coder", ExitCode: 1, History: hist, Params: params},
		Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: 4 * time.Second, Reason: "crash 4 in a row"},
		Policy:   "crashloop@9d1e0c4a", Fallback: fallback}
}

func TestExplainOutput(t *testing.T) {
	refused := journal.Entry{Time: time.Date(2026, 11, 25, 20, 12, 0, 0, time.UTC), Profile: "coder", Kind: hostabi.KindExit,
		Input:    hostabi.Input{Kind: hostabi.KindExit, Profile: "coder"},
		Decision: hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStartupFailed, Reason: `policy module /m.wasm cannot be used and policy.on_error is "fail": open /m.wasm: no such file or directory`},
		Refused:  "open /m.wasm: no such file or directory", Outcome: "not started"}
	for name, tc := range map[string]struct {
		es   []journal.Entry
		want []string
	}{
		"no window in the params: since the oldest": {[]journal.Entry{explainEntry(nil, false)},
			[]string{"2026-11-25 20:10 exit: restart in 4s because the gateway exited with code 1 (3 earlier exits by itself since 19:50); policy crashloop@9d1e0c4a: crash 4 in a row"}},
		"the policy's window": {[]journal.Entry{explainEntry(hostabi.Params{{Key: "crash_window", Type: hostabi.ParamString, Str: "5m"}}, false)},
			[]string{"(2 earlier exits by itself in the last 5m0s, policy.params.crash_window)"}},
		"a window in seconds": {[]journal.Entry{explainEntry(hostabi.Params{{Key: "loop.window", Type: hostabi.ParamInt, Int: 90}}, false)},
			[]string{"(1 earlier exit by itself in the last 1m30s, policy.params.loop.window)"}},
		"refused: no policy decided": {[]journal.Entry{explainEntry(nil, false), refused},
			[]string{"2026-11-25 20:12 exit: gateway not started: policy module /m.wasm cannot be used and policy.on_error is \"fail\": open /m.wasm: no such file or directory; the slot stays down until `supervisor -p coder gateway start`"}},
	} {
		t.Run(name, func(t *testing.T) {
			io, out, _ := testStreams(false)
			opts := &explainOptions{IO: io, Location: time.UTC, Profile: "coder", Last: 1, Format: formatTable,
				Journal: func(string, bool) ([]journal.Entry, error) { return tc.es, nil }}
			require.NoError(t, runExplain(opts))
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
			assert.Equal(t, 1, strings.Count(out.String(), "\n"), "--last 1")
		})
	}
	io, _, errb := testStreams(false)
	require.NoError(t, runExplain(&explainOptions{IO: io, Location: time.UTC, Format: formatTable,
		Journal: func(string, bool) ([]journal.Entry, error) { return nil, nil }}))
	assert.Equal(t, "explain: no decision journalled yet\n", errb.String())
}

func TestConfigCheckOutput(t *testing.T) {
	rep := configReport{File: "/etc/hermes/hermes.toml", Profiles: []string{"default", "coder"},
		Modules: []checkedModule{{Module: "/m.wasm", Profiles: []string{"coder"}, Problem: "sha256"}},
		Problems: []configProblem{
			{File: "/etc/hermes/hermes.toml", Key: "gateway.stop_grase", Message: `unknown setting "gateway.stop_grase" in /etc/hermes/hermes.toml; did you mean "gateway.stop_grace"?`},
			{Profile: "coder", Key: "policy.module", Message: "policy module /m.wasm is refused: module sha256 does not match the pin"},
		}}
	io, out, _ := testStreams(false)
	err := runConfigCheck(context.Background(), &configCheckOptions{IO: io, Format: formatTable, Check: func(context.Context) configReport { return rep }})
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitFailure, ee.code)
	assert.Equal(t, `unknown setting "gateway.stop_grase" in /etc/hermes/hermes.toml; did you mean "gateway.stop_grace"?
profile coder: policy module /m.wasm is refused: module sha256 does not match the pin
PROBLEMS: 2 problems in /etc/hermes/hermes.toml, 2 profiles, 1 policy module
`, out.String())

	io, out, _ = testStreams(false)
	require.NoError(t, runConfigCheck(context.Background(), &configCheckOptions{IO: io, Format: formatJSON,
		Check: func(context.Context) configReport {
			return configReport{Profiles: []string{"default"}, Modules: []checkedModule{}, Problems: []configProblem{}}
		}}))
	assert.Contains(t, out.String(), `"problems": []`)
}

// TestCheckConfig checks a real configuration: every problem of
// hermes.toml and of every profile.toml, and every module opened once.
func TestCheckConfig(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	require.NoError(t, os.MkdirAll(home, 0o755))
	cfg := filepath.Join(base, "hermes.toml")
	require.NoError(t, os.WriteFile(cfg, []byte("home = \""+home+"\"\n[gateway]\nstop_grase = \"5s\"\nready_after = 5\n[policy]\nmodule = \""+filepath.Join(base, "missing.wasm")+"\"\n"), 0o644))
	mkProfile(t, home, "coder")
	require.NoError(t, os.WriteFile(filepath.Join(home, "profiles", "coder", "profile.toml"), []byte("[gateway]\nstop_grace = \"5\"\n[policy]\nmodule = \"\"\n"), 0o644))
	mkProfile(t, home, "other")

	io, _, _ := testStreams(false)
	f := newFactory(io)
	f.flags.config = cfg
	var opened []string
	rep := f.CheckConfig(context.Background(), func(ctx context.Context, c config.Config) (openedModule, error) {
		opened = append(opened, c.Policy.Module)
		return f.openFresh(ctx, c)
	})
	assert.Equal(t, []string{"default", "coder", "other"}, rep.Profiles)
	assert.Equal(t, []string{filepath.Join(base, "missing.wasm"), ""}, opened, "each module once")
	var msgs []string
	for _, p := range rep.Problems {
		msgs = append(msgs, problemLine(p))
	}
	require.Len(t, msgs, 4, strings.Join(msgs, "\n"))
	assert.Contains(t, msgs[0], `unknown setting "gateway.stop_grase"`)
	assert.Contains(t, msgs[0], `did you mean "gateway.stop_grace"?`)
	assert.Contains(t, msgs[1], "gateway.ready_after in "+cfg+": want a duration string")
	assert.Contains(t, msgs[2], "gateway.stop_grace in "+filepath.Join(home, "profiles", "coder", "profile.toml"))
	assert.Equal(t, "policy module "+filepath.Join(base, "missing.wasm")+" is refused: open "+filepath.Join(base, "missing.wasm")+
		": no such file or directory; the native fallback makes every decision of profiles default, other", msgs[3])
	assert.Equal(t, "embedded:default", rep.Modules[1].Module)
	assert.Regexp(t, `^default@[0-9a-f]{8}$`, rep.Modules[1].Identity)

	t.Run("no home", func(t *testing.T) {
		f := newFactory(io)
		f.flags.home = filepath.Join(base, "nope")
		f.flags.config = filepath.Join(base, "none.toml")
		require.NoError(t, os.WriteFile(f.flags.config, nil, 0o644))
		rep := f.CheckConfig(context.Background(), f.openFresh)
		require.Len(t, rep.Problems, 1)
		assert.Contains(t, rep.Problems[0].Message, "the home directory "+f.flags.home+" does not exist (home from flag --home)")
	})
}

// TestCheckConfigParams: a [policy.params] key the module does not
// declare, or of another type, is a warning naming the file, the key, the
// module and the nearest declared key; once per file; never for the
// built-in defaults, nor against a module that declares nothing.
func TestCheckConfigParams(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	require.NoError(t, os.MkdirAll(home, 0o755))
	cfg := filepath.Join(base, "hermes.toml")
	require.NoError(t, os.WriteFile(cfg, []byte("home = \""+home+"\"\n[policy.params]\nmultiplex_profile = true\n"), 0o644))
	mkProfile(t, home, "coder")
	coderToml := filepath.Join(home, "profiles", "coder", "profile.toml")
	require.NoError(t, os.WriteFile(coderToml, []byte("[policy.params]\nmultiplex_profiles = \"true\"\nwindow = \"5m\"\n"), 0o644))
	mkProfile(t, home, "plain")

	io, _, _ := testStreams(false)
	f := newFactory(io)
	f.flags.config = cfg
	rep := f.CheckConfig(context.Background(), f.openFresh)
	assert.Empty(t, rep.Problems)
	id := rep.Modules[0].Identity
	require.Len(t, rep.Warnings, 3)
	assert.Equal(t, configProblem{File: cfg, Key: "policy.params.multiplex_profile",
		Message: "policy.params.multiplex_profile in " + cfg + ": policy module " + id + ` reads no parameter "multiplex_profile", so it has no effect; did you mean "multiplex_profiles"? (it reads multiplex_profiles, bootstrap_state)`},
		rep.Warnings[0], "once for hermes.toml, though two profiles take its params")
	assert.Equal(t, configProblem{Profile: "coder", File: coderToml, Key: "policy.params.multiplex_profiles",
		Message: "policy.params.multiplex_profiles in " + coderToml + ": policy module " + id + " reads it as a bool: want a boolean (true or false), found a string; it uses its default, false"},
		rep.Warnings[1])
	assert.Equal(t, "policy.params.window in "+coderToml+": policy module "+id+` reads no parameter "window", so it has no effect (it reads multiplex_profiles, bootstrap_state)`, rep.Warnings[2].Message)

	io, out, _ := testStreams(false)
	require.NoError(t, runConfigCheck(context.Background(), &configCheckOptions{IO: io, Format: formatTable, Check: func(context.Context) configReport { return rep }}),
		"warnings do not fail the check")
	assert.Contains(t, out.String(), "warning: policy.params.window in "+coderToml)
	assert.Contains(t, out.String(), "ok: 0 problems (3 warnings) in "+cfg+", 3 profiles, 1 policy module\n")
	io, _, errb := testStreams(false)
	logCheck(io, rep)
	assert.Contains(t, errb.String(), "boot: configuration: warning: policy.params.multiplex_profile in ")
	assert.Contains(t, errb.String(), "boot: configuration checked: no problem, 3 warnings (3 profiles, 1 policy module)\n")

	// The built-in multiplex_profiles = false is no warning, and a module
	// that does not declare its parameters is not checked.
	require.NoError(t, os.WriteFile(cfg, []byte("home = \""+home+"\"\n"), 0o644))
	require.NoError(t, os.Remove(coderToml))
	rep = f.CheckConfig(context.Background(), f.openFresh)
	assert.Empty(t, rep.Warnings)
	mimic := wat(t, "modules/mimic.wat", base)
	require.NoError(t, os.WriteFile(cfg, []byte("home = \""+home+"\"\n[policy]\nmodule = \""+mimic+"\"\n[policy.params]\nanything = 1\n"), 0o644))
	rep = f.CheckConfig(context.Background(), f.openFresh)
	assert.Empty(t, rep.Problems)
	assert.Empty(t, rep.Warnings)
}

func TestProfileListOutput(t *testing.T) {
	home := t.TempDir()
	mkProfile(t, home, "coder")
	c := config.Default()
	c.Home, c.Scandir = home, filepath.Join(t.TempDir(), "service")
	// A gateway whose profile.toml was removed while s6 ran it.
	require.NoError(t, os.MkdirAll(filepath.Join(c.Scandir, "gateway-ghost"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(home, "profiles", "ghost"), 0o755))
	o := &ops.Ops{Config: c, Tools: &s6.Tools{}, Exe: "/bin/false"}
	getOps := func() (*ops.Ops, error) { return o, nil }

	io, out, _ := testStreams(false)
	require.NoError(t, runProfileList(&profileListOptions{IO: io, Ops: getOps, Format: formatTable}))
	assert.Equal(t, "default\ncoder\nghost\t("+ops.NoteOrphan+")\n", out.String())

	io, out, _ = testStreams(false)
	require.NoError(t, runProfileList(&profileListOptions{IO: io, Ops: getOps, Format: formatJSON}))
	var ps []ops.Profile
	require.NoError(t, json.Unmarshal(out.Bytes(), &ps))
	require.Len(t, ps, 3)
	assert.Equal(t, ops.Profile{Name: "coder", Dir: filepath.Join(home, "profiles", "coder")}, ps[1])
	assert.True(t, ps[2].Registered)
}

func TestBootOutput(t *testing.T) {
	rep := boot.Report{
		Outcomes: []boot.Outcome{
			{Profile: "default", PriorState: "running", PriorExit: hostabi.PriorExitClean, Action: boot.ActionStarted, Policy: "default@3f2a9c1b", Reason: "desired running"},
			{Profile: "broken", Action: boot.ActionSkipped, Err: errors.New("config: bad"), Reason: "config: bad"},
		},
		Lines: []byte("line 1\nline 2\n"),
	}
	io, out, errb := testStreams(false)
	require.NoError(t, printBoot(&bootOptions{IO: io, DryRun: true, Format: formatTable}, rep))
	assert.Equal(t, "line 1\nline 2\n", out.String())
	assert.Equal(t, "boot: profile default: started (desired running)\nboot: profile broken: skipped: config: bad\n", errb.String())

	io, out, _ = testStreams(false)
	require.NoError(t, printBoot(&bootOptions{IO: io, DryRun: true, Format: formatJSON}, rep))
	var outs []bootOutcome
	require.NoError(t, json.Unmarshal(out.Bytes(), &outs))
	assert.Equal(t, []bootOutcome{
		{Profile: "default", PriorState: "running", PriorExit: "clean", Action: "started", Policy: "default@3f2a9c1b", Reason: "desired running"},
		{Profile: "broken", PriorState: "none", PriorExit: "unknown", Action: "skipped", Reason: "config: bad", Error: "config: bad"},
	}, outs)

	io, _, errb = testStreams(false)
	logCheck(io, configReport{Profiles: []string{"default"}, Modules: []checkedModule{{}}})
	assert.Equal(t, "boot: configuration checked: no problem (1 profile, 1 policy module)\n", errb.String())
	io, _, errb = testStreams(false)
	logCheck(io, configReport{Problems: []configProblem{{Profile: "coder", Message: "policy module /m is refused: x"}}})
	assert.Equal(t, "boot: configuration: profile coder: policy module /m is refused: x\nboot: configuration: 1 problem (`supervisor config check` lists them again)\n", errb.String())
}

func TestPolicyNewOutput(t *testing.T) {
	cases := []struct {
		dir  string
		lang build.Lang
		want string
	}{
		{"mypolicy", build.Go, "created Go policy mypolicy: test it with `supervisor policy test mypolicy`, build it with `supervisor policy build mypolicy --write mypolicy.wasm`\n"},
		{"bad name", build.Go, "created Go policy bad name: test it with `supervisor policy test 'bad name'`, build it with `supervisor policy build 'bad name' --write 'bad name.wasm'`\n"},
		{"it's", build.Go, "created Go policy it's: test it with `supervisor policy test 'it'\\''s'`, build it with `supervisor policy build 'it'\\''s' --write 'it'\\''s.wasm'`\n"},
		{"mine", build.AssemblyScript, "created AssemblyScript policy mine: install its compiler with `npm ci --prefix mine`, then test it with `supervisor policy test mine`, build it with `supervisor policy build mine --write mine.wasm`\n"},
	}
	for _, c := range cases {
		io, _, errb := testStreams(false)
		var got string
		var gotLang build.Lang
		require.NoError(t, runPolicyNew(&policyNewOptions{IO: io, Dir: c.dir, Lang: c.lang, Scaffold: func(d string, l build.Lang) error { got, gotLang = d, l; return nil }}))
		assert.Equal(t, c.dir, got)
		assert.Equal(t, c.lang, gotLang)
		assert.Equal(t, c.want, errb.String())
	}
	for _, lang := range build.Langs {
		dir := filepath.Join(t.TempDir(), "mine")
		io, _, _ := testStreams(false)
		require.NoError(t, runPolicyNew(&policyNewOptions{IO: io, Dir: dir, Lang: lang, Scaffold: scaffold}))
		got, err := build.Detect(dir)
		require.NoError(t, err)
		assert.Equal(t, lang, got, "the scaffold is a %s policy", lang)
	}
}

// policy test -v lists every scenario; --run keeps the matching ones.
func TestPolicyTestVerboseAndRunOutput(t *testing.T) {
	dir := policyWorkspace(t, passing+`
[[scenario]]
name = "exit 0 stops"
decision = "exit"
[scenario.input]
exit_code = 0
[scenario.expect]
action = "stop"
`)
	file := filepath.Join(dir, "fixtures", "x.toml")
	cases := []struct {
		name string
		opts policyTestOptions
		want []string // the lines, in order, each a prefix
	}{
		{"quiet", policyTestOptions{}, []string{"PASS: 2 scenarios: 2 passed, 0 failed, 0 errors"}},
		{"verbose", policyTestOptions{Verbose: true}, []string{
			"PASS  " + file + ": exit 78 stops (exit, mimic@",
			"PASS  " + file + ": exit 0 stops (exit, mimic@",
			"PASS: 2 scenarios: 2 passed, 0 failed, 0 errors"}},
		{"run", policyTestOptions{Verbose: true, Run: regexp.MustCompile("^exit 0")}, []string{
			"PASS  " + file + ": exit 0 stops (exit, mimic@",
			"PASS: 1 scenarios: 1 passed, 0 failed, 0 errors"}},
		{"verbose json is the whole report", policyTestOptions{Verbose: true, Format: formatJSON, Run: regexp.MustCompile("78")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			io, out, _ := testStreams(false)
			o := c.opts
			o.IO, o.Paths = io, []string{dir}
			if o.Format == "" {
				o.Format = formatTable
			}
			require.NoError(t, runPolicyTest(context.Background(), &o))
			if c.want == nil {
				var rep struct{ Results []struct{ Scenario string } }
				require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
				require.Len(t, rep.Results, 1)
				assert.Equal(t, "exit 78 stops", rep.Results[0].Scenario)
				return
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			require.Len(t, lines, len(c.want), out.String())
			for i, w := range c.want {
				assert.True(t, strings.HasPrefix(lines[i], w), "line %d: %q, want %q...", i, lines[i], w)
			}
		})
	}
	io, _, _ := testStreams(false)
	err := runPolicyTest(context.Background(), &policyTestOptions{IO: io, Format: formatTable, Paths: []string{dir}, Run: regexp.MustCompile("reboot")})
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitUsage, ee.code, "no scenario matched: as no scenario found")
	assert.Equal(t, `policy test: no scenario found matching "reboot" in `+dir, ee.Error())
}

// policy inspect shows the parameters a module declares, none, or that it
// does not declare them.
func TestPolicyInspectParams(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "default.wasm")
	require.NoError(t, os.WriteFile(def, policies.Default, 0o644))
	io, out, _ := testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: def, Format: formatTable}))
	assert.Contains(t, out.String(), "\nparams     multiplex_profiles (bool, default false)\n           bootstrap_state (string, default \"\")\n")

	io, out, _ = testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: def, Format: formatJSON}))
	var v struct {
		Params *[]hostabi.ParamSpec `json:"params"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &v))
	require.NotNil(t, v.Params)
	assert.Equal(t, []hostabi.ParamSpec{{Key: "multiplex_profiles", Type: "bool", Default: "false"}, {Key: "bootstrap_state", Type: "string", Default: ""}}, *v.Params)

	always := filepath.Join("..", "..", "policies", "examples", "always", "always.wasm")
	io, out, _ = testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: always, Format: formatTable}))
	assert.Contains(t, out.String(), "\nparams     (none: the module reads no parameter)\n")
	io, out, _ = testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: always, Format: formatJSON}))
	assert.Contains(t, out.String(), `"params": [],`)

	mimic := wat(t, "modules/mimic.wat", dir)
	io, out, _ = testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: mimic, Format: formatTable}))
	assert.Contains(t, out.String(), "\nparams     (not declared: the module says nothing of the parameters it reads)\n")
	io, out, _ = testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: mimic, Format: formatJSON}))
	assert.NotContains(t, out.String(), `"params"`)
}

func TestPolicyInspectOutput(t *testing.T) {
	dir := t.TempDir()
	bad := wat(t, "hostile/hostimport.wat", dir)
	io, out, _ := testStreams(false)
	err := runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: bad, Format: formatJSON})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "policy: policy module failed")
	var v inspected
	require.NoError(t, json.Unmarshal(out.Bytes(), &v), out.String())
	assert.Equal(t, []string{"env.now"}, v.Imports)
	assert.True(t, strings.HasPrefix(v.Status, "refused: forbidden import"), v.Status)

	mimic := wat(t, "modules/mimic.wat", dir)
	io, out, _ = testStreams(false)
	require.NoError(t, runPolicyInspect(context.Background(), &policyInspectOptions{IO: io, File: mimic, Format: formatJSON}))
	require.NoError(t, json.Unmarshal(out.Bytes(), &v))
	assert.Equal(t, "1.1", v.ABI)
	assert.Equal(t, "ok", v.Status)
	assert.Equal(t, []string{}, v.Imports)
}

func TestPolicyCaptureOutput(t *testing.T) {
	sum := func(b []byte) string { return sha256hex(b) }
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	entry := func(pol, digest string, fallback bool) journal.Entry {
		e := explainEntry(nil, fallback)
		e.Policy, e.Digest = pol, digest
		return e
	}
	dir := t.TempDir()
	mod := filepath.Join(dir, "mine.wasm")
	require.NoError(t, os.WriteFile(mod, []byte("not really wasm"), 0o644))
	def := entry("default@"+sum(policy.Default)[:8], sum(policy.Default), false)
	mine := entry("mine@"+sum([]byte("not really wasm"))[:8], sum([]byte("not really wasm")), false)
	configured := func(module string) func() (config.Config, profile.Paths, error) {
		return func() (config.Config, profile.Paths, error) {
			c := config.Default()
			c.Policy.Module = module
			return c, profile.Paths{}, nil
		}
	}
	for name, tc := range map[string]struct {
		es         []journal.Entry
		module     string
		wantPolicy string
		wantErr    string
		stderr     string
	}{
		"embedded default": {es: []journal.Entry{def, def}, wantPolicy: `policy = "embedded:default"`, stderr: "captured 2 decisions of " + def.Policy + "\n"},
		"the configured module": {es: []journal.Entry{def, mine, entry(mine.Policy, mine.Digest, true)}, module: mod, wantPolicy: `policy = "` + mod + `"`,
			stderr: "captured 1 decisions of " + mine.Policy + " (left out: 1 made by the native fallback, 1 made by " + def.Policy + ")\n"},
		"a module that is gone": {es: []journal.Entry{mine}, module: filepath.Join(dir, "other.wasm"),
			stderr: "the file names no module: " + mine.Policy + " is not the profile's module any more; test it with --policy MODULE"},
		"nothing a module made": {es: []journal.Entry{entry(def.Policy, def.Digest, true)}, wantErr: `no journalled decision for profile "coder" that a module made`},
	} {
		t.Run(name, func(t *testing.T) {
			io, out, errb := testStreams(false)
			err := runPolicyCapture(&policyCaptureOptions{IO: io, Profile: "coder", Now: func() time.Time { return now },
				ProfileConfig: configured(tc.module), Journal: func(string, bool) ([]journal.Entry, error) { return tc.es, nil }})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			if tc.wantPolicy != "" {
				assert.Contains(t, out.String(), "\n"+tc.wantPolicy+"\n")
			} else {
				assert.NotContains(t, out.String(), "\npolicy = ")
			}
			assert.Contains(t, out.String(), "# Captured by `supervisor -p coder policy capture` at 2026-11-26T09:00:00Z")
			assert.Contains(t, errb.String(), tc.stderr)
		})
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestGatewayResetOutput(t *testing.T) {
	home := t.TempDir()
	mkProfile(t, home, "coder")
	c := config.Default()
	c.Home, c.Scandir = home, filepath.Join(t.TempDir(), "service")
	o := &ops.Ops{Config: c, Tools: &s6.Tools{}, Exe: "/bin/false"}
	p, err := profile.For(home, "coder")
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, state.AppendHistory(p.History, hostabi.ExitRecord{Time: time.Now(), ExitCode: 1, Trigger: hostabi.TriggerExited}))
	}
	io, _, errb := testStreams(false)
	require.NoError(t, runGatewayReset(context.Background(), &gatewayResetOptions{IO: io, Profile: "coder",
		Ops: func() (*ops.Ops, error) { return o, nil }}))
	assert.Equal(t, "gateway coder reset: 2 exits cleared from its history\nstart it with `supervisor -p coder gateway start`\n", errb.String())

	io, _, _ = testStreams(false)
	err = runGatewayReset(context.Background(), &gatewayResetOptions{IO: io, Profile: "typo", Ops: func() (*ops.Ops, error) { return o, nil }})
	require.ErrorIs(t, err, ops.ErrNoProfile)
}

func TestPolicyBuildOutput(t *testing.T) {
	io, _, errb := testStreams(false)
	var dir, out string
	require.NoError(t, runPolicyBuild(context.Background(), &policyBuildOptions{IO: io, Dir: "my policy", Write: "my policy.wasm",
		Build: func(_ context.Context, d, o string) error { dir, out = d, o; return nil }}))
	assert.Equal(t, "my policy", dir)
	assert.Equal(t, "my policy.wasm", out)
	assert.Equal(t, "built my policy.wasm: check it with `supervisor policy inspect 'my policy.wasm'`\n", errb.String())

	io, _, _ = testStreams(false)
	err := runPolicyBuild(context.Background(), &policyBuildOptions{IO: io, Dir: "p", Write: "p.wasm",
		Build: func(context.Context, string, string) error { return errors.New("build: build: p: go build failed") }})
	require.Error(t, err)
	assert.Equal(t, "policy build: p: go build failed", err.Error(), "no internal package prefix")

	for file, want := range map[string]string{"main.go": "building Go policy ", "policy.ts": "building AssemblyScript policy "} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, file), nil, 0o644))
		io, _, errb = testStreams(true)
		_ = builder(io)(context.Background(), dir, filepath.Join(t.TempDir(), "x.wasm"))
		assert.True(t, strings.HasPrefix(errb.String(), want), "progress on a terminal: %q", errb)
	}
}

func TestConfigShowOutput(t *testing.T) {
	c := config.Default()
	c.File = "/etc/hermes/hermes.toml"
	io, out, errb := testStreams(false)
	require.NoError(t, runConfigShow(&configShowOptions{IO: io, Profile: "default", Format: formatTable,
		Config: func() (config.Config, error) { return c, nil }}))
	assert.True(t, strings.HasPrefix(out.String(), "# configuration file: /etc/hermes/hermes.toml\nhome\t\"/opt/data\"\tdefault\n"), out.String())
	assert.Empty(t, errb.String())

	c.Policy.Module = filepath.Join(t.TempDir(), "gone.wasm")
	io, out, errb = testStreams(false)
	require.NoError(t, runConfigShow(&configShowOptions{IO: io, Profile: "default", Format: formatJSON,
		Config: func() (config.Config, error) { return c, nil }}))
	var v struct {
		File     string `json:"file"`
		Settings []struct {
			Key    string `json:"key"`
			Value  any    `json:"value"`
			Source string `json:"source"`
		} `json:"settings"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &v))
	assert.Equal(t, "/etc/hermes/hermes.toml", v.File)
	values := map[string]any{}
	for _, st := range v.Settings {
		values[st.Key] = st.Value
	}
	assert.Equal(t, "10s", values["gateway.stop_grace"], "durations as in the file")
	assert.Equal(t, "16MiB", values["policy.memory_limit"])
	assert.Contains(t, errb.String(), "supervisor: warning: policy module "+c.Policy.Module+" cannot be read")
	assert.Contains(t, errb.String(), "`supervisor config check` checks the whole configuration")
}

func TestPolicyReadModuleOutput(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "m.wasm")
	require.NoError(t, os.WriteFile(mod, []byte("\x00asm module"), 0o644))
	io, out, _ := testStreams(false)
	require.NoError(t, runPolicyReadModule(&policyReadModuleOptions{IO: io, Path: mod}))
	assert.Equal(t, "\x00asm module", out.String())

	link := filepath.Join(dir, "link.wasm")
	require.NoError(t, os.Symlink(mod, link))
	io, out, _ = testStreams(false)
	require.Error(t, runPolicyReadModule(&policyReadModuleOptions{IO: io, Path: link}), "a symlink is not followed")
	assert.Empty(t, out.String())
}

func TestPlainErrorKeepsNames(t *testing.T) {
	for in, want := range map[string]string{
		"fixture: mypolicy/fixtures/policy.toml: policy mypolicy: build: build: mypolicy: compile failed": "mypolicy/fixtures/policy.toml: policy mypolicy: mypolicy: compile failed",
		"fixture: policy: policy module failed: x.wasm: trap":                                             "x.wasm: trap",
		"fixture: f.toml: policy: open mypolicy: /p/nopolicy: x":                                          "f.toml: open mypolicy: /p/nopolicy: x",
	} {
		assert.Equal(t, want, plainError(errors.New(in)), in)
	}
	// Every command's error: no package name, whatever the package; a
	// name or a path that looks like one is kept.
	f := newFactory(&ioStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	for in, want := range map[string]string{
		`config: unknown setting "gateway.stop_grase" in h.toml`:                  `unknown setting "gateway.stop_grase" in h.toml`,
		"state: write /v/profiles/coder/gateway_state.json: disk full":            "write /v/profiles/coder/gateway_state.json: disk full",
		"gateway stop: s6: slot gateway-boot: down: timed out":                    "gateway stop: slot gateway-boot: down: timed out",
		"open /v/profiles/config: no such file or directory":                      "open /v/profiles/config: no such file or directory",
		`no such gateway "state": create it with supervisor profile create state`: `no such gateway "state": create it with supervisor profile create state`,
	} {
		assert.Equal(t, want, message(f, errors.New(in)), in)
	}
}
