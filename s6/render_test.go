package s6

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRenderGolden(t *testing.T) {
	s := Slot{
		Name:           "gateway-coder",
		Run:            []string{"/usr/local/bin/supervisor", "--home", "/opt/data", "run", "-p", "coder", "--notify-fd", "3"},
		Finish:         []string{"/usr/local/bin/supervisor", "--home", "/opt/data", "finish", "-p", "coder"},
		User:           "hermes",
		NotificationFD: 3,
		LogDir:         "/opt/data/logs/gateways/coder",
		Down:           true,
		TimeoutKill:    15 * time.Second,
	}
	progs := Programs{ApplyUIDGID: "/command/s6-applyuidgid", SetUIDGID: "/usr/bin/s6-setuidgid", Log: "/usr/bin/s6-log"}
	var b strings.Builder
	// Published by root for root's s6: ids resolved now, the verdict's
	// fast path in finish.
	s.Owner, s.Verdict = &Owner{UID: 10000, GID: 10000, Groups: []int{10000, 27}}, true
	files, err := Render(s, progs)
	require.NoError(t, err)
	b.WriteString("### published by root\n")
	for _, f := range files {
		b.WriteString("== " + f.Path + " " + f.Mode.String() + "\n" + f.Content)
	}
	// Published by another user: the scripts find out whether they run
	// as root.
	s.Owner, s.Verdict = nil, false
	files, err = Render(s, progs)
	require.NoError(t, err)
	b.WriteString("### published by another user\n")
	for _, f := range files {
		b.WriteString("== " + f.Path + " " + f.Mode.String() + "\n" + f.Content)
	}
	golden := filepath.Join("testdata", "slot.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), b.String())
}

func TestRenderRefuses(t *testing.T) {
	ok := Slot{Name: "gateway-x", Run: []string{"/bin/true"}}
	for name, tc := range map[string]struct {
		edit func(*Slot)
		want string
	}{
		"dot name":        {func(s *Slot) { s.Name = ".gateway-x" }, "starts with a dot"},
		"slash in name":   {func(s *Slot) { s.Name = "a/b" }, "holds '/'"},
		"empty name":      {func(s *Slot) { s.Name = "" }, "empty"},
		"empty run":       {func(s *Slot) { s.Run = nil }, "empty run command"},
		"empty finish":    {func(s *Slot) { s.Finish = []string{} }, "empty finish command"},
		"notify on 1":     {func(s *Slot) { s.NotificationFD = 1 }, "notification fd 1"},
		"relative logdir": {func(s *Slot) { s.LogDir = "logs" }, "not absolute"},
		"bad user":        {func(s *Slot) { s.User = "a:b" }, "not a user name"},
		"negative kill":   {func(s *Slot) { s.TimeoutKill = -1 }, "negative"},
	} {
		t.Run(name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			_, err := Render(s, Programs{SetUIDGID: "/x/s6-setuidgid", Log: "/x/s6-log"})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestShellJoinQuotes(t *testing.T) {
	assert.Equal(t, `/bin/echo 'it'\''s' '' 'a b' '$HOME'`, shellJoin([]string{"/bin/echo", "it's", "", "a b", "$HOME"}))
}

func TestParseStatus(t *testing.T) {
	for name, tc := range map[string]struct {
		line string
		want Status
		err  string
	}{
		"up ready": {line: "true true true true false 42 -1 0 7 5",
			want: Status{Up: true, WantedUp: true, NormallyUp: true, Ready: true, Pid: 42, ExitCode: -1, Since: 7 * time.Second, ReadyFor: 5 * time.Second}},
		"up not ready": {line: "true true false false false 42 -1 0 1 1",
			want: Status{Up: true, WantedUp: true, Pid: 42, ExitCode: -1, Since: time.Second}},
		"down by signal": {line: "false false false false false -1 -1 15 3 3",
			want: Status{ExitCode: -1, Signal: 15, Since: 3 * time.Second}},
		"finished 125": {line: "false false true false false -1 125 0 0 0",
			want: Status{NormallyUp: true, ExitCode: 125}},
		"wanted up, down": {line: "false true true false false -1 3 0 0 0",
			want: Status{WantedUp: true, NormallyUp: true, ExitCode: 3}},
		"too few fields":    {line: "true true", err: "2 fields"},
		"human line":        {line: "up (pid 42) 7 seconds, ready 5 seconds", err: "fields"},
		"bad flag":          {line: "yes true true true false 42 -1 0 7 5", err: `up is "yes"`},
		"bad pid":           {line: "true true true true false x -1 0 7 5", err: `pid is "x"`},
		"up without pid":    {line: "true true true true false -1 -1 0 7 5", err: "up=true with pid -1"},
		"exit out of range": {line: "false true true false false -1 300 0 0 0", err: "out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseStatus(tc.line)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrBadOutput)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestToolsLookup(t *testing.T) {
	dir := t.TempDir()
	tools := &Tools{BinDir: dir}
	_, err := tools.Path("s6-svc")
	require.ErrorIs(t, err, ErrNoBinary)
	assert.Contains(t, err.Error(), "check s6_bin_dir")

	p := filepath.Join(dir, "s6-svc")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	got, err := tools.Path("s6-svc")
	require.NoError(t, err)
	assert.Equal(t, p, got)

	t.Setenv("PATH", t.TempDir())
	_, err = (&Tools{}).Path("s6-definitely-missing")
	require.ErrorIs(t, err, ErrNoBinary)
	assert.Contains(t, err.Error(), "apt-get install s6")
}

func TestStatusJSON(t *testing.T) {
	s := Status{Up: true, WantedUp: true, Ready: true, Pid: 42, ExitCode: -1, Since: 7 * time.Second, ReadyFor: 5 * time.Second}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"up":true,"wanted_up":true,"normally_up":false,"ready":true,"paused":false,"pid":42,"exit_code":-1,"for_seconds":7,"ready_for_seconds":5}`, string(b))
	var back Status
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s, back)
}

// The finish script follows run's verdict for the exit s6 reports with
// nothing but its shell, and runs the finish program otherwise; what the
// verdict file holds (the gateway user's) can only choose 0 or 125.
func TestFinishScriptFollowsTheVerdict(t *testing.T) {
	files, err := Render(Slot{Name: "gateway-x", Run: []string{"/bin/true"}, Verdict: true,
		Finish: []string{"/bin/sh", "-c", `echo ran "$1" "$2" >finish.out; exit 77`, "finish"}}, Programs{})
	require.NoError(t, err)
	var script string
	for _, f := range files {
		if f.Path == "finish" {
			script = f.Content
		}
	}
	require.NotEmpty(t, script)
	for name, tc := range map[string]struct {
		verdict  *string // nil: no file
		code     string
		sig      string
		want     int
		programs bool // the finish program ran
	}{
		"restart":                  {ptr("1 0\n"), "1", "0", 0, false},
		"stay down":                {ptr("0 125\n"), "0", "0", 125, false},
		"another exit code":        {ptr("2 0\n"), "1", "0", 77, true},
		"run killed by a signal":   {ptr("1 0\n"), "256", "9", 77, true},
		"not a finish code":        {ptr("1 7\n"), "1", "0", 77, true},
		"a command in the file":    {ptr("$(touch pwned) 0\n"), "$(touch pwned)", "0", 77, true},
		"a command as the plan":    {ptr("1 $(touch pwned)\n"), "1", "0", 77, true},
		"no verdict file":          {nil, "1", "0", 77, true},
		"empty verdict file":       {ptr(""), "1", "0", 77, true},
		"verdict without newline":  {ptr("1 125"), "1", "0", 77, true},
		"trailing fields are kept": {ptr("1 125 extra\n"), "1", "0", 77, true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.verdict != nil {
				require.NoError(t, os.WriteFile(filepath.Join(dir, VerdictFile), []byte(*tc.verdict), 0o644))
			}
			cmd := exec.Command("/bin/sh", "-c", script, "finish", tc.code, tc.sig)
			cmd.Dir = dir
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, code)
			_, ran := os.Stat(filepath.Join(dir, "finish.out"))
			assert.Equal(t, tc.programs, ran == nil, "the finish program ran")
			assert.NoFileExists(t, filepath.Join(dir, "pwned"), "nothing in the file is ever run")
			if tc.verdict != nil {
				b, err := os.ReadFile(filepath.Join(dir, VerdictFile))
				require.NoError(t, err)
				if tc.verdict != nil && *tc.verdict != "" && strings.HasSuffix(*tc.verdict, "\n") && tc.sig == "0" {
					assert.Empty(t, string(b), "a verdict serves one finish")
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }
