package s6

import (
	"encoding/json"
	"flag"
	"os"
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
	files, err := Render(s, "/usr/bin/s6-setuidgid", "/usr/bin/s6-log")
	require.NoError(t, err)
	var b strings.Builder
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
			_, err := Render(s, "/x/s6-setuidgid", "/x/s6-log")
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
