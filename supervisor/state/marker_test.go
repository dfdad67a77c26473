package state

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

func TestParseStartTime(t *testing.T) {
	cases := []struct {
		name string
		stat string
		want uint64
		bad  bool
	}{
		{"plain", "1234 (sleep) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 18446744073709551615", 98765, false},
		{"spaces and parens in name", "77 (a) b (c) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 1 1", 4242, false},
		{"short", "1 (x) S 1 2 3", 0, true},
		{"no name", "1 x S", 0, true},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 abc 1", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseStartTime([]byte(c.stat))
			if c.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestSelfMatchesProc(t *testing.T) {
	self, err := Self()
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), self.Pid)
	assert.NotZero(t, self.StartTime)
	_, err = ProcOf(1 << 30)
	assert.ErrorIs(t, err, ErrNoProcess)
}

// Gone: a live process is not gone; the same pid with another start
// time, no such process, and an unreaped zombie are.
func TestGone(t *testing.T) {
	self, err := Self()
	require.NoError(t, err)
	assert.False(t, Gone(self))
	assert.True(t, Gone(Proc{Pid: self.Pid, StartTime: self.StartTime + 1}), "another life of the pid")
	assert.True(t, Gone(Proc{Pid: 1 << 30, StartTime: 1}))
	assert.True(t, Gone(Proc{}))

	child := exec.Command("true")
	require.NoError(t, child.Start())
	p, err := ProcOf(child.Process.Pid)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return Gone(p) }, 5*time.Second, 5*time.Millisecond, "an exited, unreaped child is a zombie")
	_, err = ProcOf(child.Process.Pid)
	assert.NoError(t, err, "the zombie is still in /proc: Gone says so from its state")
	require.NoError(t, child.Wait())
}

func TestJudge(t *testing.T) {
	self := Proc{Pid: 100, StartTime: 5000}
	m := Marker{TargetPid: 100, TargetStartTime: 5000, StopperPid: 7, WrittenAt: t0, Intent: IntentStop}
	with := func(f func(*Marker)) Marker { c := m; f(&c); return c }
	cases := []struct {
		name string
		m    Marker
		now  time.Time
		want Judgement
	}{
		{"mine, fresh", m, t0.Add(2 * time.Second), MarkerHonoured},
		{"mine, at the ttl", m, t0.Add(DefaultMarkerTTL), MarkerHonoured},
		{"expired", m, t0.Add(DefaultMarkerTTL + time.Millisecond), MarkerExpired},
		{"another pid", with(func(m *Marker) { m.TargetPid = 101 }), t0, MarkerOther},
		{"pid reuse: start time differs", with(func(m *Marker) { m.TargetStartTime = 4999 }), t0, MarkerOther},
		{"future", with(func(m *Marker) { m.WrittenAt = t0.Add(time.Minute) }), t0, MarkerFuture},
		{"within clock slack", with(func(m *Marker) { m.WrittenAt = t0.Add(500 * time.Millisecond) }), t0, MarkerHonoured},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Judge(c.m, self, c.now, DefaultMarkerTTL))
		})
	}
}

func TestParseMarker(t *testing.T) {
	cases := []struct {
		name string
		data string
		ok   bool
	}{
		{"rfc3339", `{"target_pid":10,"target_start_time":99,"stopper_pid":3,"written_at":"2026-11-25T21:00:00Z","intent":"stop"}`, true},
		{"unix seconds, string start time, bom", "\ufeff" + `{"target_pid":10,"target_start_time":"99","written_at":1795640400.25,"intent":"restart"}`, true},
		{"hermes' own: no intent, +00:00", `{"target_pid":10,"target_start_time":99,"stopper_pid":3,"written_at":"2026-12-02T16:41:20.123456+00:00"}`, true},
		{"empty intent", `{"target_pid":10,"target_start_time":99,"written_at":"2026-11-25T21:00:00Z","intent":""}`, false},
		{"hermes' own without a start time", `{"target_pid":10,"target_start_time":null,"stopper_pid":3,"written_at":"2026-12-02T16:41:20.123456+00:00"}`, false},
		{"bad intent", `{"target_pid":10,"target_start_time":99,"written_at":"2026-11-25T21:00:00Z","intent":"halt"}`, false},
		{"no pid", `{"target_start_time":99,"written_at":"2026-11-25T21:00:00Z","intent":"stop"}`, false},
		{"negative pid", `{"target_pid":-4,"target_start_time":99,"written_at":"2026-11-25T21:00:00Z","intent":"stop"}`, false},
		{"no start time", `{"target_pid":10,"written_at":"2026-11-25T21:00:00Z","intent":"stop"}`, false},
		{"bad time", `{"target_pid":10,"target_start_time":99,"written_at":"yesterday","intent":"stop"}`, false},
		{"not json", `stop 10`, false},
		{"empty", ``, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMarker([]byte(c.data))
			if c.ok {
				assert.NoError(t, err)
				assert.Contains(t, []Intent{IntentStop, IntentRestart}, m.Intent)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestConsumeMarker(t *testing.T) {
	self, err := Self()
	require.NoError(t, err)
	cases := []struct {
		name   string
		write  func(t *testing.T, path string)
		now    time.Time
		want   Judgement
		intent Intent
	}{
		{"absent", func(t *testing.T, path string) {}, t0, MarkerAbsent, ""},
		{"honoured stop", func(t *testing.T, path string) {
			_, err := WriteMarker(path, self, IntentStop, t0)
			require.NoError(t, err)
		}, t0.Add(time.Second), MarkerHonoured, IntentStop},
		{"honoured restart", func(t *testing.T, path string) {
			_, err := WriteMarkerFor(path, os.Getpid(), IntentRestart, t0)
			require.NoError(t, err)
		}, t0.Add(time.Second), MarkerHonoured, IntentRestart},
		{"expired", func(t *testing.T, path string) {
			_, err := WriteMarker(path, self, IntentStop, t0)
			require.NoError(t, err)
		}, t0.Add(2 * time.Minute), MarkerExpired, IntentStop},
		{"another process", func(t *testing.T, path string) {
			_, err := WriteMarker(path, Proc{self.Pid + 1, self.StartTime}, IntentStop, t0)
			require.NoError(t, err)
		}, t0, MarkerOther, IntentStop},
		{"pid reuse", func(t *testing.T, path string) {
			_, err := WriteMarker(path, Proc{self.Pid, self.StartTime + 1}, IntentStop, t0)
			require.NoError(t, err)
		}, t0, MarkerOther, IntentStop},
		{"future", func(t *testing.T, path string) {
			_, err := WriteMarker(path, self, IntentStop, t0.Add(time.Hour))
			require.NoError(t, err)
		}, t0, MarkerFuture, IntentStop},
		{"malformed", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(`{"target_pid":"me"}`), 0o644))
		}, t0, MarkerMalformed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".gateway-planned-stop.json")
			c.write(t, path)
			m, j, err := ConsumeMarker(path, self, c.now, DefaultMarkerTTL)
			assert.Equal(t, c.want, j)
			assert.Equal(t, c.intent, m.Intent)
			if c.want == MarkerMalformed {
				assert.ErrorIs(t, err, ErrUnreadable)
			} else {
				assert.NoError(t, err)
			}
			_, statErr := os.Lstat(path)
			assert.ErrorIs(t, statErr, os.ErrNotExist, "consumed or cleaned up")
		})
	}
}

func TestWriteMarkerRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	_, err := WriteMarker(path, Proc{1, 1}, "halt", t0)
	assert.Error(t, err)
	_, err = WriteMarker(path, Proc{0, 1}, IntentStop, t0)
	assert.Error(t, err)
	_, err = WriteMarkerFor(path, 1<<30, IntentStop, t0)
	assert.ErrorIs(t, err, ErrNoProcess)
}

func TestSweep(t *testing.T) {
	home := t.TempDir()
	p, err := profile.For(home, profile.Root)
	require.NoError(t, err)
	live := exec.Command("sleep", "60")
	require.NoError(t, live.Start())
	t.Cleanup(func() { live.Process.Kill(); live.Wait() })
	liveProc, err := ProcOf(live.Process.Pid)
	require.NoError(t, err)
	now := time.Now()

	cases := []struct {
		name   string
		marker func(path string) error
		keep   bool
	}{
		{"live target within ttl is kept", func(path string) error { _, err := WriteMarker(path, liveProc, IntentStop, now); return err }, true},
		{"pid reused", func(path string) error {
			_, err := WriteMarker(path, Proc{liveProc.Pid, liveProc.StartTime + 1}, IntentStop, now)
			return err
		}, false},
		{"expired", func(path string) error {
			_, err := WriteMarker(path, liveProc, IntentStop, now.Add(-time.Hour))
			return err
		}, false},
		{"dead target", func(path string) error { _, err := WriteMarker(path, Proc{1 << 30, 5}, IntentStop, now); return err }, false},
		{"malformed", func(path string) error { return os.WriteFile(path, []byte("{"), 0o644) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(p.Pid, []byte(`{"pid": 1234, "kind": "hermes-gateway"}`), 0o644))
			require.NoError(t, os.WriteFile(p.Processes, []byte(`[]`), 0o644))
			require.NoError(t, c.marker(p.Marker))
			tmp := filepath.Join(p.Dir, ".gateway_state.json.tmp-1-1")
			require.NoError(t, os.WriteFile(tmp, []byte("{"), 0o644))
			removed, err := Sweep(p, now, DefaultMarkerTTL)
			require.NoError(t, err)
			assert.Contains(t, removed, p.Pid)
			assert.Contains(t, removed, p.Processes)
			assert.Contains(t, removed, tmp)
			_, err = os.Lstat(p.Marker)
			if c.keep {
				assert.NoError(t, err)
				os.Remove(p.Marker)
			} else {
				assert.ErrorIs(t, err, os.ErrNotExist)
			}
			assert.NoFileExists(t, p.Pid)
		})
	}
}

func TestLedgerLife(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "supervisor.lifecycle.json")
	_, ok, err := ReadLedger(path)
	require.NoError(t, err)
	assert.False(t, ok)

	self, _ := Self()
	l, err := BeginLife(path, self, t0)
	require.NoError(t, err)
	got, ok, err := ReadLedger(path)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, PhaseRunning, got.Phase)

	l.Gateway = Proc{55, 66}
	require.NoError(t, EndLife(path, l, 1, "signal without marker", t0.Add(time.Minute)))
	got, ok, err = ReadLedger(path)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, PhaseExited, got.Phase)
	assert.Equal(t, 1, *got.ExitCode)
	assert.Equal(t, Proc{55, 66}, got.Gateway)
	assert.Equal(t, self, got.Supervisor)

	require.NoError(t, DeferRestart(path, t0.Add(time.Hour)))
	l, err = BeginLife(path, self, t0.Add(2*time.Minute))
	require.NoError(t, err)
	assert.True(t, l.RestartNotBefore.Equal(t0.Add(time.Hour)), "a pending restart delay survives into the next life")

	require.NoError(t, os.WriteFile(path, []byte(`{"phase":"zombie"}`), 0o644))
	_, ok, err = ReadLedger(path)
	assert.ErrorIs(t, err, ErrUnreadable)
	assert.False(t, ok)
}

// TestReadGatewayLedger: the gateway's own ledger is read as upstream's
// reconciler reads it, for its phase alone.
func TestReadGatewayLedger(t *testing.T) {
	cases := []struct {
		name, content string
		phase         string
		err           bool
	}{
		{"running", `{"phase":"running","pid":42,"start_time":1.5,"create_time":1.25}`, "running", false},
		{"exited", `{"phase":"exited","pid":42,"exit_code":"0","started_at":"yesterday"}`, "exited", false},
		{"nan anywhere", `{"phase":"exited","start_time":NaN}`, "exited", false},
		{"bom", "\xef\xbb\xbf" + `{"phase":"running"}`, "running", false},
		{"phase not a string", `{"phase":1}`, "", false},
		{"no phase", `{}`, "", false},
		{"not utf-8", "{\"phase\":\"exited\",\"x\":\"\xff\"}", "", true},
		{"not an object", `["exited"]`, "", true},
		{"truncated", `{"phase":"exi`, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway.lifecycle.json")
			require.NoError(t, os.WriteFile(path, []byte(c.content), 0o644))
			g := ReadGatewayLedger(path)
			assert.True(t, g.Present)
			assert.Equal(t, c.phase, g.Phase)
			assert.Equal(t, c.err, g.Err != nil, "%v", g.Err)
		})
	}
	g := ReadGatewayLedger(filepath.Join(t.TempDir(), "none.json"))
	assert.False(t, g.Present)
	dir := filepath.Join(t.TempDir(), "gateway.lifecycle.json")
	require.NoError(t, os.Mkdir(dir, 0o755))
	g = ReadGatewayLedger(dir)
	assert.True(t, g.Present)
	assert.ErrorIs(t, g.Err, ErrUnreadable)
}

// TestMigrateLedger: an earlier supervisor's ledger at the gateway's path
// moves to the supervisor's own; the gateway's own file there stays.
func TestMigrateLedger(t *testing.T) {
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "gateway.lifecycle.json"), filepath.Join(dir, "supervisor.lifecycle.json")
	old := `{"phase":"running","started_at":"2026-11-25T20:00:00Z","supervisor_pid":7,"supervisor_start_time":8,"gateway_pid":9,"gateway_start_time":10}` + "\n"
	require.NoError(t, os.WriteFile(oldPath, []byte(old), 0o644))
	l, ok := ReadOldLedger(oldPath)
	require.True(t, ok)
	assert.Equal(t, Proc{9, 10}, l.Gateway)
	did, err := MigrateLedger(oldPath, newPath)
	require.NoError(t, err)
	assert.Contains(t, did, "moved")
	assert.NoFileExists(t, oldPath)
	data, err := os.ReadFile(newPath)
	require.NoError(t, err)
	assert.Equal(t, old, string(data))

	require.NoError(t, os.WriteFile(oldPath, []byte(old), 0o644))
	did, err = MigrateLedger(oldPath, newPath)
	require.NoError(t, err)
	assert.Contains(t, did, "removed")
	assert.NoFileExists(t, oldPath)

	gw := `{"phase":"running","pid":42,"start_time":1764104400.5,"started_at":"2026-11-25T21:00:00+00:00"}`
	require.NoError(t, os.WriteFile(oldPath, []byte(gw), 0o644))
	did, err = MigrateLedger(oldPath, newPath)
	require.NoError(t, err)
	assert.Empty(t, did, "the gateway's own ledger is left alone")
	assert.FileExists(t, oldPath)
	_, ok = ReadOldLedger(oldPath)
	assert.False(t, ok)
}

func TestHistoryBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "gateway.exits.json")
	for i := range MaxHistory + 5 {
		require.NoError(t, AppendHistory(path, hostabi.ExitRecord{Time: t0.Add(time.Duration(i) * time.Second), Uptime: 1500 * time.Millisecond,
			ExitCode: int32(i), Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}))
	}
	recs, err := ReadHistory(path)
	require.NoError(t, err)
	require.Len(t, recs, MaxHistory)
	assert.Equal(t, int32(5), recs[0].ExitCode, "oldest dropped first")
	last := recs[len(recs)-1]
	assert.Equal(t, hostabi.ExitRecord{Time: t0.Add(time.Duration(MaxHistory+4) * time.Second), Uptime: 1500 * time.Millisecond,
		ExitCode: int32(MaxHistory + 4), Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}, last)

	require.NoError(t, os.WriteFile(path, []byte("nope"), 0o644))
	recs, err = ReadHistory(path)
	assert.ErrorIs(t, err, ErrUnreadable)
	assert.Empty(t, recs)
	require.NoError(t, AppendHistory(path, hostabi.ExitRecord{Time: t0}))
	recs, err = ReadHistory(path)
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

func TestVerdictInTheLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "supervisor.lifecycle.json")
	self, _ := Self()
	l, err := BeginLife(path, self, t0.Add(-time.Minute))
	require.NoError(t, err)
	_, ok := LedgerVerdict(path, 3, 0, t0)
	assert.False(t, ok, "a life in progress has no verdict")
	v := Verdict{Supervisor: self, RunExit: 3, Kind: hostabi.KindExit, Action: hostabi.ActionRestart, DelayMS: 2000, Reason: "exited 3: restart", WrittenAt: t0}
	p := Prepare(path, 1)
	defer p.Close()
	require.NoError(t, FinishLife(path, l, v, t0.Add(2*time.Second), p))
	got, ok := LedgerVerdict(path, 3, 0, t0.Add(time.Second))
	require.True(t, ok)
	assert.Equal(t, v.Supervisor, got.Supervisor)
	assert.Equal(t, hostabi.ActionRestart, got.Action)
	_, ok = LedgerVerdict(path, 3, 9, t0.Add(time.Second))
	assert.False(t, ok, "killed by a signal: not this verdict")
	_, ok = LedgerVerdict(path, 4, 0, t0.Add(time.Second))
	assert.False(t, ok, "another exit code")
	_, ok = LedgerVerdict(path, 3, 0, t0.Add(time.Hour))
	assert.False(t, ok, "too old")
	led, ok, err := ReadLedger(path)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, PhaseExited, led.Phase)
	assert.Equal(t, t0.Add(2*time.Second), led.RestartNotBefore.UTC(), "the delay the next run serves")
	_, err = BeginLife(path, self, t0.Add(time.Minute))
	require.NoError(t, err)
	_, ok = LedgerVerdict(path, 3, 0, t0.Add(time.Second))
	assert.False(t, ok, "the next life replaces it")
}
