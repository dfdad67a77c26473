package main

// The command layer's tests, in two layers as in the GitHub CLI: the
// command line -> the command's options (every command), and the options
// -> what is printed, with fake IO streams. The end-to-end tests beside
// them run the binary against real s6.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testStreams are fake IO streams; tty makes both outputs terminals.
func testStreams(tty bool) (*ioStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &ioStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, outTTY: tty, errTTY: tty}, &out, &errb
}

// parse runs the command line args through cmd, placed under the root
// (with the global flags) and under parents (group commands), the way
// main would; the command's runF captures its options.
func parse(t *testing.T, f *factory, cmd *cobra.Command, parents []string, args string) error {
	t.Helper()
	root := newCmdBare(f)
	at := root
	for _, p := range parents {
		g := &cobra.Command{Use: p}
		at.AddCommand(g)
		at = g
	}
	at.AddCommand(cmd)
	groups(root)
	root.SetArgs(append(append(append([]string{}, parents...), cmd.Name()), strings.Fields(args)...))
	return root.ExecuteContext(context.Background())
}

// usage asserts that err is a usage error (exit 2) containing want.
func usage(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	var ue *usageError
	assert.True(t, errors.As(err, &ue), "not a usage error: %v", err)
	assert.Contains(t, err.Error(), want)
}

func TestExitCode(t *testing.T) {
	for name, tc := range map[string]struct {
		err    error
		user   string
		code   int
		stderr string
	}{
		"nil":                 {nil, "", 0, ""},
		"plain":               {errors.New("no such gateway 'x'"), "", 1, "supervisor: no such gateway 'x'\n"},
		"usage":               {usageErrorf("missing argument NAME"), "", 2, "supervisor: missing argument NAME\n"},
		"exit silently":       {exitWith(125, nil), "", 125, ""},
		"exit with":           {exitWith(111, errors.New("cannot start")), "", 111, "supervisor: cannot start\n"},
		"wrapped usage":       {exitWith(1, usageErrorf("bad")), "", 2, "supervisor: bad\n"},
		"permission":          {fmt.Errorf("state: write /v/x: %w", fs.ErrPermission), "hermes", 1, "supervisor: write /v/x: permission denied: run this command as root or the gateway user (hermes)\n"},
		"permission, no user": {fmt.Errorf("write /v/x: %w", fs.ErrPermission), "", 1, "supervisor: write /v/x: permission denied: run this command as root\n"},
		"outside text":        {errors.New("profiles/bad\x1b[2Jname: invalid"), "", 1, "supervisor: profiles/bad\\x1b[2Jname: invalid\n"},
		"permission said":     {fmt.Errorf("permission denied on /v: run it as root: %w", fs.ErrPermission), "hermes", 1, "supervisor: permission denied on /v: run it as root: permission denied\n"},
	} {
		t.Run(name, func(t *testing.T) {
			io, _, errb := testStreams(false)
			f := newFactory(io)
			f.user = tc.user
			assert.Equal(t, tc.code, exitCode(f, tc.err))
			assert.Equal(t, tc.stderr, errb.String())
		})
	}
}

// TestUnknownCommandAtAnyDepth: a mistyped command is a usage error at
// every level (cobra prints help and exits 0 below the root).
func TestUnknownCommandAtAnyDepth(t *testing.T) {
	for _, args := range []string{"gatway", "gateway stat", "gateway stpo", "config shwo", "profile lst", "policy tets x", "completion bahs"} {
		t.Run(args, func(t *testing.T) {
			io, out, errb := testStreams(false)
			code := run(context.Background(), io, strings.Fields(args))
			assert.Equal(t, exitUsage, code, "stdout %q stderr %q", out, errb)
			assert.Contains(t, errb.String(), "unknown command")
			assert.Empty(t, out.String(), "no help on stdout")
		})
	}
	io, _, errb := testStreams(false)
	require.Equal(t, exitUsage, run(context.Background(), io, []string{"gateway", "stat"}))
	assert.Contains(t, errb.String(), `did you mean "start", "status" or "stop"?`)
	io, _, errb = testStreams(false)
	require.Equal(t, exitUsage, run(context.Background(), io, []string{"gateway", "stpo"}))
	assert.Contains(t, errb.String(), `did you mean "stop"?`)

	io, out, _ := testStreams(false)
	assert.Equal(t, exitOK, run(context.Background(), io, []string{"gateway"}), "a group alone prints its help")
	assert.Contains(t, out.String(), "Available Commands")
	io, _, errb = testStreams(false)
	assert.Equal(t, exitUsage, run(context.Background(), io, []string{"help", "nosuch"}))
	assert.Contains(t, errb.String(), `unknown help topic "nosuch"`)
}

// TestUsageErrorsNameTheArgument: a missing or extra argument names it,
// with the command's usage line.
func TestUsageErrorsNameTheArgument(t *testing.T) {
	for args, want := range map[string]string{
		"policy inspect":         "supervisor policy inspect: missing argument FILE (usage: supervisor policy inspect FILE",
		"policy test":            "supervisor policy test: missing argument PATH",
		"profile create":         "supervisor profile create: missing argument NAME",
		"finish 1":               "supervisor finish: missing argument SIGNAL",
		"profile list extra":     `supervisor profile list: unexpected argument "extra"`,
		"policy build d":         "missing --write FILE",
		"policy replay":          "missing --policy MODULE",
		"gateway status --bogus": "unknown flag: --bogus",
		"explain --last x":       `invalid argument "x" for "--last" flag`,
	} {
		t.Run(args, func(t *testing.T) {
			io, _, errb := testStreams(false)
			assert.Equal(t, exitUsage, run(context.Background(), io, strings.Fields(args)))
			assert.Contains(t, errb.String(), want)
			assert.Equal(t, 1, strings.Count(errb.String(), "\n"), "one line: %q", errb)
		})
	}
}

func TestVersion(t *testing.T) {
	info := buildInfo{Module: "github.com/hermes-supervisor/hermes-supervisor", Version: "v1.2.0",
		Revision: "0123456789abcdef0123", Time: "2026-11-25T20:00:00Z", Modified: true, Go: "go1.26.8"}
	t.Run("flags", func(t *testing.T) {
		io, _, _ := testStreams(false)
		var got *versionOptions
		require.NoError(t, parse(t, newFactory(io), newCmdVersion(newFactory(io), func(_ context.Context, o *versionOptions) error { got = o; return nil }), nil, "-o json"))
		assert.Equal(t, formatJSON, got.Format)
	})
	t.Run("table", func(t *testing.T) {
		io, out, _ := testStreams(false)
		require.NoError(t, runVersion(&versionOptions{IO: io, Format: formatTable, Info: func() (buildInfo, bool) { return info, true }}))
		assert.Equal(t, "supervisor v1.2.0 (revision 0123456789ab, 2026-11-25T20:00:00Z, modified) go1.26.8\n", out.String())
	})
	t.Run("json", func(t *testing.T) {
		io, out, _ := testStreams(false)
		require.NoError(t, runVersion(&versionOptions{IO: io, Format: formatJSON, Info: func() (buildInfo, bool) { return info, true }}))
		assert.Contains(t, out.String(), `"revision": "0123456789abcdef0123"`)
	})
	t.Run("--version", func(t *testing.T) {
		io, out, _ := testStreams(false)
		require.Equal(t, exitOK, run(context.Background(), io, []string{"--version"}))
		assert.Regexp(t, `^supervisor \S+.* go1\.\d+`, out.String())
		io, out2, _ := testStreams(false)
		require.Equal(t, exitOK, run(context.Background(), io, []string{"version"}))
		assert.Equal(t, out.String(), out2.String())
	})
}

func TestWarningsAreInert(t *testing.T) {
	io, _, errb := testStreams(false)
	io.Warn(errors.New("profiles/bad\nFORGED\x1b[31m"))
	assert.Equal(t, "supervisor: warning: profiles/bad\\nFORGED\\x1b[31m\n", errb.String())
	io, _, errb = testStreams(false)
	logCheck(io, configReport{Problems: []configProblem{{Message: "profiles/bad\nFORGED: invalid"}}})
	assert.NotContains(t, errb.String(), "\nFORGED")
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	io, _, errb := testStreams(true)
	io.Progress("building Go policy %s", "p")
	assert.Equal(t, "building Go policy p …\n", errb.String())
	io, _, errb = testStreams(false)
	io.Progress("building Go policy %s", "p")
	assert.Empty(t, errb.String())
}

func TestCompletion(t *testing.T) {
	io, out, _ := testStreams(false)
	run(context.Background(), io, []string{"__complete", "gateway", "status", "--output", ""})
	assert.Equal(t, []string{"table", "json"}, completions(out.String()))

	io, out, _ = testStreams(false)
	run(context.Background(), io, []string{"__complete", "policy", "test", "-o", ""})
	assert.Equal(t, []string{"table", "json", "junit"}, completions(out.String()))

	home := t.TempDir()
	mkProfile(t, home, "coder")
	mkProfile(t, home, "alpha")
	io, out, _ = testStreams(false)
	run(context.Background(), io, []string{"__complete", "--home", home, "gateway", "status", "-p", ""})
	assert.Equal(t, []string{"default", "alpha", "coder"}, completions(out.String()))
}

// completions are the candidates in cobra's __complete output (the last
// line is the directive).
func completions(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var out []string
	for _, l := range lines[:len(lines)-1] {
		c, _, _ := strings.Cut(l, "\t")
		out = append(out, c)
	}
	return out
}

// TestExamples: the commands people run most show examples.
func TestExamples(t *testing.T) {
	io, _, _ := testStreams(false)
	root := newCmdRoot(newFactory(io))
	for _, path := range []string{"gateway start", "gateway stop", "gateway status", "gateway reset", "profile create", "explain",
		"policy test", "policy build", "policy inspect", "policy replay", "policy capture", "policy new", "config check", "config show", "boot"} {
		cmd, _, err := root.Find(strings.Fields(path))
		require.NoError(t, err, path)
		assert.NotEmpty(t, cmd.Example, path)
	}
}
