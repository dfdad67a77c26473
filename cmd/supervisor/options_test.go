package main

// Command line -> options, for every command: what each flag and argument
// becomes, and which command lines are usage errors.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
)

func mkProfile(t *testing.T, home, name string) {
	t.Helper()
	dir := filepath.Join(home, "profiles", name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "profile.toml"), nil, 0o644))
}

// optionsCase is one command line and the options it must give (or the
// usage error it must be).
type optionsCase[O any] struct {
	args    string
	want    func(*testing.T, *O)
	wantErr string
}

// testOptions parses every case with the command newCmd builds.
func testOptions[O any](t *testing.T, parents []string, newCmd func(*factory, func(context.Context, *O) error) *cobra.Command, cases map[string]optionsCase[O]) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			io, _, _ := testStreams(false)
			f := newFactory(io)
			var got *O
			err := parse(t, f, newCmd(f, func(_ context.Context, o *O) error { got = o; return nil }), parents, tc.args)
			if tc.wantErr != "" {
				usage(t, err, tc.wantErr)
				assert.Nil(t, got, "the command ran")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got, "the command did not run")
			tc.want(t, got)
		})
	}
}

func TestProfileOptions(t *testing.T) {
	cases := map[string]optionsCase[profileOptions]{
		"name":     {args: "coder", want: func(t *testing.T, o *profileOptions) { assert.Equal(t, "coder", o.Name) }},
		"missing":  {args: "", wantErr: "missing argument NAME"},
		"too many": {args: "a b", wantErr: `unexpected argument "b"`},
	}
	testOptions(t, []string{"profile"}, newCmdProfileCreate, cases)
	testOptions(t, []string{"profile"}, newCmdProfileDelete, cases)
	testOptions(t, []string{"profile"}, newCmdProfileList, map[string]optionsCase[profileListOptions]{
		"default": {args: "", want: func(t *testing.T, o *profileListOptions) { assert.Equal(t, formatTable, o.Format) }},
		"json":    {args: "-o json", want: func(t *testing.T, o *profileListOptions) { assert.Equal(t, formatJSON, o.Format) }},
		"yaml":    {args: "--output yaml", wantErr: "want table or json"},
		"arg":     {args: "x", wantErr: `unexpected argument "x"`},
	})
}

func TestGatewayOptions(t *testing.T) {
	for _, a := range []gatewayAction{actionStart, actionStop, actionRestart} {
		t.Run(a.name, func(t *testing.T) {
			testOptions(t, []string{"gateway"}, func(f *factory, runF func(context.Context, *gatewayOptions) error) *cobra.Command {
				return newCmdGatewayAction(f, a, runF)
			}, map[string]optionsCase[gatewayOptions]{
				"default profile": {args: "", want: func(t *testing.T, o *gatewayOptions) {
					assert.Equal(t, "default", o.Profile)
					assert.False(t, o.All)
					assert.Zero(t, o.Wait)
					assert.Equal(t, a.name, o.Action.name)
				}},
				"-p": {args: "-p coder", want: func(t *testing.T, o *gatewayOptions) { assert.Equal(t, "coder", o.Profile) }},
				"all and wait": {args: "--all --wait 1m", want: func(t *testing.T, o *gatewayOptions) {
					assert.True(t, o.All)
					assert.Equal(t, time.Minute, o.Wait)
				}},
				"negative wait": {args: "--wait -1s", wantErr: "--wait -1s: want a positive duration"},
				"bad wait":      {args: "--wait soon", wantErr: `invalid argument "soon" for "--wait" flag`},
				"argument":      {args: "coder", wantErr: `unexpected argument "coder"`},
			})
		})
	}
	testOptions(t, []string{"gateway"}, newCmdGatewayStatus, map[string]optionsCase[gatewayStatusOptions]{
		"default": {args: "-p coder", want: func(t *testing.T, o *gatewayStatusOptions) {
			assert.Equal(t, "coder", o.Profile)
			assert.Equal(t, formatTable, o.Format)
		}},
		"all json": {args: "--all --output json", want: func(t *testing.T, o *gatewayStatusOptions) {
			assert.True(t, o.All)
			assert.Equal(t, formatJSON, o.Format)
		}},
		"bad format": {args: "-o yaml", wantErr: `invalid argument "yaml" for "-o, --output" flag: want table or json`},
	})
	testOptions(t, []string{"gateway"}, newCmdGatewayReset, map[string]optionsCase[gatewayResetOptions]{
		"profile": {args: "-p coder", want: func(t *testing.T, o *gatewayResetOptions) { assert.Equal(t, "coder", o.Profile) }},
		"all":     {args: "--all", want: func(t *testing.T, o *gatewayResetOptions) { assert.True(t, o.All) }},
	})
}

func TestExplainOptions(t *testing.T) {
	testOptions(t, nil, newCmdExplain, map[string]optionsCase[explainOptions]{
		"defaults": {args: "", want: func(t *testing.T, o *explainOptions) {
			assert.Equal(t, 20, o.Last)
			assert.Equal(t, formatTable, o.Format)
			assert.Equal(t, "default", o.Profile)
		}},
		"all json": {args: "--all --last 0 -o json", want: func(t *testing.T, o *explainOptions) {
			assert.True(t, o.All)
			assert.Zero(t, o.Last)
			assert.Equal(t, formatJSON, o.Format)
		}},
		"text alias": {args: "--output text", want: func(t *testing.T, o *explainOptions) { assert.Equal(t, formatTable, o.Format) }},
		"negative":   {args: "--last -1", wantErr: "--last -1: want 0 (all) or more"},
		"bad format": {args: "-o xml", wantErr: "want table or json"},
	})
}

func TestConfigOptions(t *testing.T) {
	testOptions(t, []string{"config"}, newCmdConfigShow, map[string]optionsCase[configShowOptions]{
		"profile json": {args: "-p coder -o json", want: func(t *testing.T, o *configShowOptions) {
			assert.Equal(t, "coder", o.Profile)
			assert.Equal(t, formatJSON, o.Format)
		}},
		"arg": {args: "x", wantErr: `unexpected argument "x"`},
	})
	testOptions(t, []string{"config"}, newCmdConfigCheck, map[string]optionsCase[configCheckOptions]{
		"default": {args: "", want: func(t *testing.T, o *configCheckOptions) { assert.Equal(t, formatTable, o.Format) }},
		"json":    {args: "--output json", want: func(t *testing.T, o *configCheckOptions) { assert.Equal(t, formatJSON, o.Format) }},
	})
}

func TestBootOptions(t *testing.T) {
	testOptions(t, nil, newCmdBoot, map[string]optionsCase[bootOptions]{
		"default": {args: "", want: func(t *testing.T, o *bootOptions) { assert.False(t, o.DryRun); assert.Equal(t, formatTable, o.Format) }},
		"dry run json": {args: "--dry-run -o json", want: func(t *testing.T, o *bootOptions) {
			assert.True(t, o.DryRun)
			assert.Equal(t, formatJSON, o.Format)
		}},
		"arg": {args: "now", wantErr: `unexpected argument "now"`},
	})
	testOptions(t, nil, newCmdInit, map[string]optionsCase[initOptions]{
		"none": {args: "", want: func(t *testing.T, o *initOptions) { assert.False(t, o.Boot.DryRun) }},
		"arg":  {args: "x", wantErr: `unexpected argument "x"`},
	})
}

func TestRuntimeOptions(t *testing.T) {
	testOptions(t, nil, newCmdRun, map[string]optionsCase[runOptions]{
		"default":  {args: "", want: func(t *testing.T, o *runOptions) { assert.Equal(t, -1, o.NotifyFD) }},
		"notify":   {args: "--notify-fd 3", want: func(t *testing.T, o *runOptions) { assert.Equal(t, 3, o.NotifyFD) }},
		"stdio fd": {args: "--notify-fd 1", wantErr: "--notify-fd 1: must be 3 or more"},
		"not a fd": {args: "--notify-fd x", wantErr: `invalid argument "x" for "--notify-fd" flag`},
	})
	testOptions(t, nil, newCmdRegistrar, map[string]optionsCase[registrarOptions]{
		"notify":   {args: "--notify-fd 4", want: func(t *testing.T, o *registrarOptions) { assert.Equal(t, 4, o.NotifyFD) }},
		"stdio fd": {args: "--notify-fd 2", wantErr: "must be 3 or more"},
	})
	testOptions(t, nil, newCmdFinish, map[string]optionsCase[finishOptions]{
		"exit":        {args: "1 0", want: func(t *testing.T, o *finishOptions) { assert.Equal(t, 1, o.ExitCode); assert.Zero(t, o.Signal) }},
		"killed":      {args: "256 9", want: func(t *testing.T, o *finishOptions) { assert.Equal(t, 256, o.ExitCode); assert.Equal(t, 9, o.Signal) }},
		"bad code":    {args: "257 0", wantErr: `finish: EXITCODE "257" is not 0..256`},
		"bad signal":  {args: "0 x", wantErr: `finish: SIGNAL "x" is not 0..64`},
		"missing":     {args: "", wantErr: "missing argument EXITCODE"},
		"missing sig": {args: "0", wantErr: "missing argument SIGNAL"},
	})
}

func TestPolicyOptions(t *testing.T) {
	testOptions(t, []string{"policy"}, newCmdPolicyTest, map[string]optionsCase[policyTestOptions]{
		"paths": {args: "a b --policy m.wasm --cache-dir /c -o junit", want: func(t *testing.T, o *policyTestOptions) {
			assert.Equal(t, []string{"a", "b"}, o.Paths)
			assert.Equal(t, "m.wasm", o.Policy)
			assert.Equal(t, "/c", o.CacheDir)
			assert.Equal(t, formatJUnit, o.Format)
		}},
		"default format": {args: "a", want: func(t *testing.T, o *policyTestOptions) {
			assert.Equal(t, formatTable, o.Format)
			assert.False(t, o.Verbose)
			assert.Nil(t, o.Run, "every scenario")
			assert.NotNil(t, o.Check, "a stale module is refused")
		}},
		"verbose run": {args: "-v --run crash|boot a", want: func(t *testing.T, o *policyTestOptions) {
			assert.True(t, o.Verbose)
			require.NotNil(t, o.Run)
			assert.Equal(t, "crash|boot", o.Run.String())
		}},
		"long verbose": {args: "--verbose a", want: func(t *testing.T, o *policyTestOptions) { assert.True(t, o.Verbose) }},
		"empty run":    {args: "--run= a", want: func(t *testing.T, o *policyTestOptions) { assert.Equal(t, "", o.Run.String()) }},
		"bad run":      {args: "--run ( a", wantErr: `policy test: --run "(": not a regular expression: missing closing ): "("`},
		"no path":      {args: "", wantErr: "missing argument PATH"},
		"bad format":   {args: "a -o yaml", wantErr: "want table, json or junit"},
	})
	testOptions(t, []string{"policy"}, newCmdPolicyInspect, map[string]optionsCase[policyInspectOptions]{
		"file json": {args: "m.wasm -o json", want: func(t *testing.T, o *policyInspectOptions) {
			assert.Equal(t, "m.wasm", o.File)
			assert.Equal(t, formatJSON, o.Format)
		}},
		"no file": {args: "", wantErr: "missing argument FILE"},
	})
	testOptions(t, []string{"policy"}, newCmdPolicyBuild, map[string]optionsCase[policyBuildOptions]{
		"write": {args: "dir --write m.wasm", want: func(t *testing.T, o *policyBuildOptions) {
			assert.Equal(t, "dir", o.Dir)
			assert.Equal(t, "m.wasm", o.Write)
		}},
		"short":    {args: "dir -w m.wasm", want: func(t *testing.T, o *policyBuildOptions) { assert.Equal(t, "m.wasm", o.Write) }},
		"no write": {args: "dir", wantErr: "missing --write FILE"},
		"-o":       {args: "dir -o m.wasm", wantErr: "-o/--output is the output format in every command, and this one has none: write the file with --write m.wasm"},
		"no dir":   {args: "--write m.wasm", wantErr: "missing argument DIR"},
	})
	testOptions(t, []string{"policy"}, newCmdPolicyNew, map[string]optionsCase[policyNewOptions]{
		"dir": {args: "p", want: func(t *testing.T, o *policyNewOptions) {
			assert.Equal(t, "p", o.Dir)
			assert.Equal(t, build.Go, o.Lang, "Go by default")
		}},
		"assemblyscript": {args: "--lang assemblyscript p", want: func(t *testing.T, o *policyNewOptions) { assert.Equal(t, build.AssemblyScript, o.Lang) }},
		"go":             {args: "p --lang go", want: func(t *testing.T, o *policyNewOptions) { assert.Equal(t, build.Go, o.Lang) }},
		"bad lang":       {args: "--lang rust p", wantErr: `policy new: --lang "rust": want go or assemblyscript`},
		"no dir":         {args: "", wantErr: "missing argument DIR"},
	})
	testOptions(t, []string{"policy"}, newCmdPolicyReplay, map[string]optionsCase[policyReplayOptions]{
		"profile": {args: "--policy m.wasm -p coder", want: func(t *testing.T, o *policyReplayOptions) {
			assert.Equal(t, "m.wasm", o.Policy)
			assert.Equal(t, "coder", o.Profile)
			assert.False(t, o.All)
			assert.Equal(t, formatTable, o.Format)
		}},
		"all json": {args: "--policy embedded:default --all -o json", want: func(t *testing.T, o *policyReplayOptions) {
			assert.True(t, o.All)
			assert.Equal(t, formatJSON, o.Format)
		}},
		"no policy": {args: "--all", wantErr: "missing --policy MODULE"},
		"both":      {args: "--policy m --all -p coder", wantErr: "give -p NAME or --all, not both"},
	})
	testOptions(t, []string{"policy"}, newCmdPolicyCapture, map[string]optionsCase[policyCaptureOptions]{
		"stdout": {args: "-p coder", want: func(t *testing.T, o *policyCaptureOptions) {
			assert.Equal(t, "coder", o.Profile)
			assert.Empty(t, o.Write)
			assert.Zero(t, o.Last)
		}},
		"write": {args: "--last 10 --write f.toml", want: func(t *testing.T, o *policyCaptureOptions) {
			assert.Equal(t, 10, o.Last)
			assert.Equal(t, "f.toml", o.Write)
		}},
		"-o":       {args: "-o f.toml", wantErr: "write the file with --write f.toml"},
		"negative": {args: "--last -2", wantErr: "--last -2: want 0 (all) or more"},
	})
}

func TestPolicyReadModuleOptions(t *testing.T) {
	testOptions(t, []string{"policy"}, newCmdPolicyReadModule, map[string]optionsCase[policyReadModuleOptions]{
		"path":    {args: "-- /v/m.wasm", want: func(t *testing.T, o *policyReadModuleOptions) { assert.Equal(t, "/v/m.wasm", o.Path) }},
		"no path": {args: "", wantErr: "missing argument PATH"},
	})
}

func TestGlobalOptions(t *testing.T) {
	io, _, _ := testStreams(false)
	f := newFactory(io)
	var got *versionOptions
	require.NoError(t, parse(t, f, newCmdVersion(f, func(_ context.Context, o *versionOptions) error { got = o; return nil }), nil,
		"--config /c.toml --home /h --scandir /s --profile coder"))
	require.NotNil(t, got)
	assert.Equal(t, globalFlags{config: "/c.toml", home: "/h", scandir: "/s", profile: "coder"}, f.flags)
}

// The slot's run command line takes a shortcut past the command tree;
// anything else, even a valid command line of another shape, goes through
// the tree.
func TestSlotRunShortcut(t *testing.T) {
	for name, tc := range map[string]struct {
		args  string
		ok    bool
		flags globalFlags
		fd    int
	}{
		"as slot renders it": {"--config /etc/h.toml --home /opt/data --scandir /run/service run -p coder --notify-fd 3 --verdict /run/service/gateway-coder/verdict", true,
			globalFlags{config: "/etc/h.toml", home: "/opt/data", scandir: "/run/service", profile: "coder"}, 3},
		"relative verdict": {"--home /h --scandir /s run -p default --notify-fd 3 --verdict v", false, globalFlags{}, 0},
		"no config file":   {"--home /h --scandir /s run -p default --notify-fd 3", true, globalFlags{home: "/h", scandir: "/s", profile: "default"}, 3},
		"no notify fd":     {"--home /h --scandir /s run -p default", true, globalFlags{home: "/h", scandir: "/s", profile: "default"}, -1},
		"another order":    {"--scandir /s --home /h run -p default", false, globalFlags{}, 0},
		"another command":  {"--home /h --scandir /s finish -p default 0 0", false, globalFlags{}, 0},
		"extra argument":   {"--home /h --scandir /s run -p default --notify-fd 3 x", false, globalFlags{}, 0},
		"bad fd":           {"--home /h --scandir /s run -p default --notify-fd 1", false, globalFlags{}, 0},
		"flag=value form":  {"--home=/h --scandir /s run -p default", false, globalFlags{}, 0},
		"no profile":       {"--home /h --scandir /s run", false, globalFlags{}, 0},
		"empty home value": {"--home  --scandir /s run -p x", false, globalFlags{}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			flags, fd, _, ok := slotRun(strings.Fields(tc.args))
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.flags, flags)
				assert.Equal(t, tc.fd, fd)
			}
		})
	}
}
