package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

var supervisorBin, standinBin string

// TestMain builds the supervisor and the stand-in gateway once.
func TestMain(m *testing.M) {
	if dir := os.Getenv(floorEnv); dir != "" {
		os.Exit(floorChild(dir, os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "runner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	supervisorBin, standinBin = filepath.Join(dir, "supervisor"), filepath.Join(dir, "standin-gateway")
	for bin, pkg := range map[string]string{supervisorBin: "../../cmd/supervisor", standinBin: "../../cmd/standin-gateway"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the image's binary is built (README)
		out, err := build.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one home with one profile and its stand-in gateway.
type env struct {
	t      testing.TB
	home   string
	cfg    string
	p      profile.Paths
	events string
}

func newEnv(t testing.TB, name string, gatewayArgs []string, gateway string) *env {
	home := t.TempDir()
	require.NoError(t, volume.Confine(home)) // as the command does
	p, err := profile.For(home, name)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(p.Dir, 0o755))
	e := &env{t: t, home: home, cfg: filepath.Join(home, "hermes.toml"), p: p, events: filepath.Join(home, "events")}
	// By default the gateway notifies readiness itself, once its signal
	// handlers are in place; ready_after is an hour.
	args := append([]string{standinBin, "-events", e.events, "-state-file", p.State, "-announce", "-notify-after", "0s"}, gatewayArgs...)
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	if gateway == "" {
		gateway = `stop_grace = "5s"` + "\n" + `ready_after = "1h"`
	}
	toml := fmt.Sprintf("home = %q\n[gateway]\ncommand = [%s]\nuser = \"\"\n%s\n", home, strings.Join(q, ", "), gateway)
	require.NoError(t, os.WriteFile(e.cfg, []byte(toml), 0o644))
	return e
}

// sup is a running "supervisor run".
type sup struct {
	cmd    *exec.Cmd
	ready  chan struct{}
	stderr *strings.Builder
	done   chan struct{}
	code   int
}

func (e *env) start() *sup {
	t := e.t
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(supervisorBin, "--config", e.cfg, "-p", e.p.Name, "run", "--notify-fd", "3")
	cmd.ExtraFiles = []*os.File{w}
	s := &sup{cmd: cmd, ready: make(chan struct{}), stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	cmd.WaitDelay = time.Second // an orphaned gateway may hold the output pipe
	require.NoError(t, cmd.Start())
	w.Close()
	go func() {
		b := bufio.NewReader(r)
		if line, err := b.ReadString('\n'); err == nil && line == "\n" {
			close(s.ready)
		}
		r.Close()
	}()
	go func() {
		cmd.Wait()
		s.code = cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
		if pid, _ := e.gatewayPid(); pid > 0 {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	return s
}

func (s *sup) waitReady(t testing.TB) {
	select {
	case <-s.ready:
	case <-s.done:
		t.Fatalf("supervisor exited %d before ready:\n%s", s.code, s.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("no readiness notification:\n%s", s.stderr)
	}
}

func (s *sup) wait(t testing.TB) int {
	select {
	case <-s.done:
		return s.code
	case <-time.After(30 * time.Second):
		t.Fatalf("supervisor did not exit:\n%s", s.stderr)
	}
	return -1
}

func (e *env) state() state.File {
	f, err := state.Read(e.p.State)
	require.NoError(e.t, err)
	return f
}

func (e *env) eventLines() []string {
	b, _ := os.ReadFile(e.events)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// signalEvent returns the stand-in's record of signal name: the
// gateway_state it read from disk at that moment.
func (e *env) signalEvent(name string) (string, bool) {
	for _, l := range e.eventLines() {
		if strings.HasPrefix(l, "signal "+name+" ") {
			i := strings.Index(l, "state=")
			return l[i+len("state="):], true
		}
	}
	return "", false
}

func (e *env) finish(code, sig int) int {
	_, exit := e.finishOutput(code, sig)
	return exit
}

func (e *env) finishOutput(code, sig int) (string, int) {
	cmd := exec.Command(supervisorBin, "--config", e.cfg, "-p", e.p.Name, "finish", strconv.Itoa(code), strconv.Itoa(sig))
	out, _ := cmd.CombinedOutput()
	e.t.Logf("finish %d %d: %s", code, sig, out)
	return string(out), cmd.ProcessState.ExitCode()
}

// gatewayPid is the pid of the gateway of the current (or last) life, as
// the supervisor's ledger records it (gateway.pid is the gateway's own).
func (e *env) gatewayPid() (int, error) {
	l, ok, err := state.ReadLedger(e.p.Ledger)
	if err != nil {
		return 0, err
	}
	if !ok || l.Gateway.Pid <= 0 {
		return 0, fmt.Errorf("no gateway pid in %s", e.p.Ledger)
	}
	return l.Gateway.Pid, nil
}

// priorExit is what the next boot reads as prior_exit.
func (e *env) priorExit() hostabi.PriorExit { return lifecycle.PriorExit(state.ReadFacts(e.p)) }

func (e *env) history() []hostabi.ExitRecord {
	h, err := state.ReadHistory(e.p.History)
	require.NoError(e.t, err)
	return h
}

func TestStopSignals(t *testing.T) {
	cases := []struct {
		name        string
		marker      func(t *testing.T, e *env, pid int)
		sig         syscall.Signal
		wantState   string
		wantDesired string
		wantExit    int
		wantFinish  int
		wantTrigger hostabi.Trigger
	}{
		{"SIGTERM without marker", nil, syscall.SIGTERM, "running", "running", 1, 0, hostabi.TriggerSignal},
		{"SIGINT without marker", nil, syscall.SIGINT, "running", "running", 1, 0, hostabi.TriggerSignal},
		{"operator stop", func(t *testing.T, e *env, pid int) {
			_, err := state.WriteMarkerFor(e.p.Marker, pid, state.IntentStop, time.Now())
			require.NoError(t, err)
		}, syscall.SIGTERM, "stopped", "stopped", 0, 125, hostabi.TriggerOperator},
		{"restart", func(t *testing.T, e *env, pid int) {
			_, err := state.WriteMarkerFor(e.p.Marker, pid, state.IntentRestart, time.Now())
			require.NoError(t, err)
		}, syscall.SIGTERM, "stopped", "running", 0, 0, hostabi.TriggerRestart},
		{"marker naming another pid", func(t *testing.T, e *env, pid int) {
			_, err := state.WriteMarkerFor(e.p.Marker, os.Getpid(), state.IntentStop, time.Now())
			require.NoError(t, err)
		}, syscall.SIGTERM, "running", "running", 1, 0, hostabi.TriggerSignal},
		{"expired marker", func(t *testing.T, e *env, pid int) {
			_, err := state.WriteMarkerFor(e.p.Marker, pid, state.IntentStop, time.Now().Add(-2*time.Minute))
			require.NoError(t, err)
		}, syscall.SIGTERM, "running", "running", 1, 0, hostabi.TriggerSignal},
		{"pid reuse: start time mismatch", func(t *testing.T, e *env, pid int) {
			p, err := state.ProcOf(pid)
			require.NoError(t, err)
			p.StartTime++
			_, err = state.WriteMarker(e.p.Marker, p, state.IntentStop, time.Now())
			require.NoError(t, err)
		}, syscall.SIGTERM, "running", "running", 1, 0, hostabi.TriggerSignal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, profile.Root, []string{"-term-exit", "0"}, "")
			s := e.start()
			s.waitReady(t)
			assert.Equal(t, "running", e.state().GatewayState)
			if c.marker != nil {
				c.marker(t, e, s.cmd.Process.Pid)
			}
			require.NoError(t, s.cmd.Process.Signal(c.sig))
			assert.Equal(t, c.wantExit, s.wait(t), s.stderr.String())
			f := e.state()
			assert.Equal(t, c.wantState, f.GatewayState)
			assert.Equal(t, c.wantDesired, f.DesiredState)
			seen, ok := e.signalEvent(map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGINT: "INT"}[c.sig])
			require.True(t, ok, "the signal was forwarded to the gateway: %v", e.eventLines())
			assert.Equal(t, c.wantState, seen, "the decision was on disk before the gateway was signalled")
			// The record of the stop is complete, whether the decided
			// states had to be written before the signal or were on disk.
			assert.Equal(t, c.wantTrigger.String(), f.Trigger)
			require.NotNil(t, f.ExitCode)
			assert.Equal(t, c.wantExit, *f.ExitCode)
			durable := `durable=written`
			if c.wantTrigger == hostabi.TriggerSignal { // running, as the last write left it
				durable = `durable="already on disk"`
			}
			assert.Contains(t, s.stderr.String(), durable)
			_, err := os.Lstat(e.p.Marker)
			assert.ErrorIs(t, err, os.ErrNotExist, "marker consumed or cleaned up")
			assert.NoFileExists(t, e.p.Pid, "gateway.pid is the gateway's: the supervisor never writes it")
			assert.Equal(t, hostabi.PriorExitClean, e.priorExit())
			h := e.history()
			require.Len(t, h, 1)
			assert.Equal(t, c.wantTrigger, h[0].Trigger)
			assert.Equal(t, int32(0), h[0].ExitCode)
			assert.Equal(t, c.wantFinish, e.finish(c.wantExit, 0))
		})
	}
}

// A state file another process rewrote since the supervisor's last write
// (here an operator command recording desired_state=running again) is not
// taken as durable: the decision is written before the signal is forwarded.
func TestStopAfterAnotherWriterWritesFirst(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-term-exit", "0"}, "")
	s := e.start()
	s.waitReady(t)
	_, err := state.Set(e.p.State, state.Change{Desired: hostabi.StateRunning}, time.Now())
	require.NoError(t, err)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t), s.stderr.String())
	assert.Contains(t, s.stderr.String(), "durable=written")
	f := e.state()
	assert.Equal(t, "running", f.GatewayState)
	assert.Equal(t, hostabi.TriggerSignal.String(), f.Trigger)
}

// SIGHUP is never forwarded: the hermes gateway has no handler for it
// and dies of it (s6-svc -h would kill the gateway).
func TestSIGHUPIgnoredNotPersisted(t *testing.T) {
	e := newEnv(t, profile.Root, nil, "")
	s := e.start()
	s.waitReady(t)
	before, err := os.ReadFile(e.p.State)
	require.NoError(t, err)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(s.stderr.String(), "SIGHUP ignored") }, 10*time.Second, 10*time.Millisecond)
	_, forwarded := e.signalEvent("HUP")
	assert.False(t, forwarded, "SIGHUP reached the gateway: %v", e.eventLines())
	after, err := os.ReadFile(e.p.State)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "nothing persisted on SIGHUP")
	select {
	case <-s.done:
		t.Fatal("supervisor exited on SIGHUP")
	default:
	}
	assert.Empty(t, e.history())
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t))
	assert.Equal(t, "running", e.state().GatewayState, "a HUP never records stopped")
}

// The gateway's environment: HERMES_HOME (the volume, for hermes' -p) and
// HERMES_S6_SUPERVISED_CHILD=1 (upstream's own slot sets it), whatever run
// inherited.
func TestGatewayEnvironment(t *testing.T) {
	t.Setenv("HERMES_S6_SUPERVISED_CHILD", "0")
	t.Setenv("HERMES_PROFILE", "someone-else")
	e := newEnv(t, "coder", []string{"--"}, "") // profile_args ("-p coder") are not the stand-in's flags
	s := e.start()
	s.waitReady(t)
	gw, err := e.gatewayPid()
	require.NoError(t, err)
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", gw))
	require.NoError(t, err)
	env := map[string][]string{}
	for _, kv := range strings.Split(string(raw), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = append(env[k], v)
	}
	assert.Equal(t, []string{e.home}, env["HERMES_HOME"])
	assert.Equal(t, []string{"1"}, env["HERMES_S6_SUPERVISED_CHILD"])
	assert.Equal(t, []string{"coder"}, env["HERMES_PROFILE"])
	assert.Equal(t, []string{"3"}, env["HERMES_NOTIFY_FD"])
	assert.NoFileExists(t, e.p.Pid, "gateway.pid is the gateway's")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	s.wait(t)
}

// A gateway that rewrites gateway_state.json on its way out, as the
// hermes gateway does (its terminal write says running after any signal it
// was not told was planned, keeping the keys it does not own): once it is
// gone, the operator's decided stop is written again. A plain signal's
// running is left as it is.
func TestGatewaysLastWriteIsUndone(t *testing.T) {
	for _, c := range []struct {
		name     string
		intent   state.Intent
		want     string
		rewrites bool
	}{
		{"operator stop", state.IntentStop, "stopped", true},
		{"restart", state.IntentRestart, "stopped", true},
		{"plain signal", "", "running", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, profile.Root, nil, "")
			// A shell gateway: on SIGTERM it writes draining, then running, the way
			// hermes' read-modify-write does (keeping every other key).
			script := `trap 'for s in draining running; do sed -e "s/\"gateway_state\": \"[a-z_]*\"/\"gateway_state\": \"$s\"/" "$0" > "$0.gw" && mv -f "$0.gw" "$0"; done; exit 0' TERM; while :; do sleep 0.05; done`
			toml := fmt.Sprintf("home = %q\n[gateway]\ncommand = [\"sh\", \"-c\", %q, %q]\nuser = \"\"\nstop_grace = \"5s\"\nready_after = \"100ms\"\n", e.home, script, e.p.State)
			require.NoError(t, os.WriteFile(e.cfg, []byte(toml), 0o644))
			s := e.start()
			s.waitReady(t)
			if c.intent != "" {
				_, err := state.WriteMarkerFor(e.p.Marker, s.cmd.Process.Pid, c.intent, time.Now())
				require.NoError(t, err)
			}
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
			s.wait(t)
			f := e.state()
			assert.Equal(t, c.want, f.GatewayState, s.stderr.String())
			assert.Equal(t, c.rewrites, strings.Contains(s.stderr.String(), "written again"), s.stderr.String())
		})
	}
}

func TestIgnoredSIGTERMIsKilledAfterGrace(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-ignore-term"}, `stop_grace = "300ms"`+"\n"+`ready_after = "1h"`)
	s := e.start()
	s.waitReady(t)
	gw, err := e.gatewayPid()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t))
	h := e.history()
	require.Len(t, h, 1)
	assert.Equal(t, int32(syscall.SIGKILL), h[0].Signal)
	assert.Equal(t, int32(-1), h[0].ExitCode)
	assert.Eventually(t, func() bool { return gone(gw) }, 10*time.Second, 10*time.Millisecond, "the gateway is gone")
}

func TestGatewayCrash(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantExit   int
		wantState  string
		wantAction hostabi.Action
		wantFinish int
	}{
		{"exit 3 restarts", []string{"-crash-after", "200ms", "-crash-code", "3"}, 3, "running", hostabi.ActionRestart, 0},
		{"exit 0 stops for good", []string{"-crash-after", "200ms", "-crash-code", "0"}, 0, "stopped", hostabi.ActionStop, 125},
		{"exit 78 stops for good", []string{"-crash-after", "200ms", "-crash-code", "78"}, 78, "stopped", hostabi.ActionStop, 125},
		{"killed by SIGKILL restarts", []string{"-crash-after", "200ms", "-crash-signal", "9"}, 128 + 9, "running", hostabi.ActionRestart, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, profile.Root, c.args, "")
			s := e.start()
			assert.Equal(t, c.wantExit, s.wait(t), s.stderr.String())
			assert.Equal(t, c.wantState, e.state().GatewayState)
			h := e.history()
			require.Len(t, h, 1)
			assert.Equal(t, hostabi.TriggerExited, h[0].Trigger)
			assert.Equal(t, c.wantAction, h[0].Verdict)
			assert.Equal(t, c.wantFinish, e.finish(c.wantExit, 0))
		})
	}
}

func TestSupervisorKilledMidLife(t *testing.T) {
	e := newEnv(t, profile.Root, nil, "")
	s := e.start()
	s.waitReady(t)
	gw, err := e.gatewayPid()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	s.wait(t)
	assert.Equal(t, hostabi.PriorExitUnclean, e.priorExit(), "the next boot sees an unclean exit")

	// s6 runs finish with 256 and the signal: no verdict, the policy decides.
	assert.Equal(t, 0, e.finish(256, 9), "killed by a signal: restart")
	assert.Eventually(t, func() bool { return gone(gw) }, 10*time.Second, 10*time.Millisecond, "finish stopped the orphaned gateway")
	assert.Equal(t, hostabi.PriorExitUnclean, e.priorExit(), "finish does not make an unclean life clean")
	h := e.history()
	require.Len(t, h, 1)
	assert.Equal(t, int32(9), h[0].Signal)
	assert.Equal(t, hostabi.ActionRestart, h[0].Verdict)
}

func TestReadinessThroughNotification(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-announce", "-notify-after", "300ms", "-phase", "degraded", "-phase-after", "600ms"},
		`stop_grace = "5s"`+"\n"+`ready_after = "1h"`)
	s := e.start()
	s.waitReady(t) // ready_after is an hour: readiness came from the gateway
	assert.Equal(t, "running", e.state().GatewayState)
	require.Eventually(t, func() bool { return e.state().GatewayState == "degraded" }, 10*time.Second, 10*time.Millisecond,
		"the reported phase is persisted")
	ph, _ := os.ReadFile(e.p.Phase)
	assert.Equal(t, "degraded\n", string(ph))
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t))
	assert.Equal(t, "running", e.state().GatewayState)
}

func TestNamedProfileArgs(t *testing.T) {
	e := newEnv(t, "coder", []string{"-print-args", "--", "gateway", "{profile}"}, `stop_grace = "5s"`+"\n"+`ready_after = "1h"`+"\n"+`profile_args = ["-p", "{profile}"]`)
	s := e.start()
	s.waitReady(t)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	s.wait(t)
	assert.Contains(t, s.stderr.String(), `args=["gateway" "coder" "-p" "coder"] HERMES_NOTIFY_FD="3" HERMES_PROFILE="coder"`)
}

func TestRestartDelayDeferredToNextRun(t *testing.T) {
	e := newEnv(t, profile.Root, nil, "")
	now := time.Now()
	// What run leaves after an exit decision to restart in 30 s: its
	// verdict, and the delay the next life serves.
	v := state.Verdict{RunExit: 3, Kind: hostabi.KindExit, Action: hostabi.ActionRestart, DelayMS: 30_000, Reason: "backoff", WrittenAt: now}
	l0, err := state.BeginLife(e.p.Ledger, state.Proc{Pid: 1, StartTime: 1}, now.Add(-time.Minute))
	require.NoError(t, err)
	require.NoError(t, state.FinishLife(e.p.Ledger, l0, v, lifecycle.RestartNotBefore(v), nil))
	assert.Equal(t, 0, e.finish(3, 0), "finish restarts at once; it never sleeps")
	l, ok, err := state.ReadLedger(e.p.Ledger)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, l.RestartNotBefore.After(now.Add(20*time.Second)), "the delay is recorded for the next life: %v", l.RestartNotBefore)

	s := e.start() // waits out the delay; a stop during it is still decided
	require.Eventually(t, func() bool { return strings.Contains(s.stderr.String(), "waiting out the restart delay") }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t))
	_, err = os.Stat(e.events)
	assert.ErrorIs(t, err, os.ErrNotExist, "the gateway never started")
}

func TestHistoryFeedsPolicy(t *testing.T) {
	// The verdict, in the ledger, is JSON a human can read.
	e := newEnv(t, profile.Root, []string{"-crash-after", "100ms", "-crash-code", "4"}, "")
	s := e.start()
	s.wait(t)
	b, err := os.ReadFile(e.p.Ledger)
	require.NoError(t, err)
	var l struct{ Verdict map[string]any }
	require.NoError(t, json.Unmarshal(b, &l))
	assert.Equal(t, "restart", l.Verdict["action"])
	assert.Equal(t, float64(4), l.Verdict["run_exit"])
}

// gone reports whether pid has ended (a zombie not yet reaped by whoever
// adopted it counts as ended).
func gone(pid int) bool {
	p, err := state.ProcOf(pid)
	return err != nil || state.Gone(p)
}

func TestReadyAfterWithoutNotification(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-announce=false", "-notify-after", "-1ns"}, `stop_grace = "5s"`+"\n"+`ready_after = "200ms"`)
	s := e.start()
	s.waitReady(t) // the gateway never notifies: ready_after made it ready
	assert.Equal(t, "running", e.state().GatewayState)
	assert.NotContains(t, e.eventLines(), "ready")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t))
}

// A stop signal that reaches "supervisor run" while it is still starting
// (s6 reports the service up as soon as the process runs) is decided and
// persisted, and no gateway is started at all.
func TestStopBeforeTheGatewayStarts(t *testing.T) {
	e := newEnv(t, profile.Root, nil, "")
	c, err := config.Load(e.cfg, config.Overrides{})
	require.NoError(t, err)
	eng, err := engine.Open(context.Background(), c, nil)
	require.NoError(t, err)
	defer eng.Close(context.Background())

	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM // arrived while the configuration and the policy loaded
	var stderr strings.Builder
	code, err := Run(context.Background(), Options{Config: c, Paths: e.p, Engine: eng, Signals: sigs,
		Logger: slog.New(slog.NewTextHandler(&stderr, nil)), Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	assert.Equal(t, 1, code, "a plain signal: revive me")
	f, err := state.Read(e.p.State)
	require.NoError(t, err)
	assert.Equal(t, hostabi.StateRunning, f.Gateway(), "the decided state is persisted: %s", stderr.String())
	assert.NoFileExists(t, e.events, "no gateway was started")
	assert.Equal(t, hostabi.PriorExitClean, e.priorExit(), "a decided stop is a clean exit path")
}

// Once its shutdown decision is durable, the supervisor lowers every one of
// its threads to niceness 19 (its bookkeeping then waits behind the other
// supervisors still deciding); the gateway keeps its own priority. It
// leaves no temporary file behind in the profile.
func TestStopYieldsCPUOnceDurable(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-ignore-term"}, `stop_grace = "1s"`+"\n"+`ready_after = "1h"`)
	s := e.start()
	s.waitReady(t)
	gw, err := e.gatewayPid()
	require.NoError(t, err)
	sup := s.cmd.Process.Pid
	assert.Equal(t, []int{0}, niceness(t, sup), "before the stop")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(e.events)
		return strings.Contains(string(b), "signal TERM")
	}, 10*time.Second, 5*time.Millisecond, "the gateway gets the forwarded SIGTERM")
	assert.Eventually(t, func() bool {
		n := niceness(t, sup)
		return len(n) == 1 && n[0] == yieldNice
	}, 2*time.Second, 5*time.Millisecond, "every thread of the supervisor yields once the decision is durable")
	assert.Equal(t, []int{0}, niceness(t, gw), "the gateway keeps its priority")
	assert.Equal(t, 1, s.wait(t))
	ents, err := os.ReadDir(e.p.Dir)
	require.NoError(t, err)
	for _, en := range ents {
		assert.NotContains(t, en.Name(), ".tmp-", "temporary file left in the profile")
	}
}

// niceness returns the distinct niceness values of pid's threads.
func niceness(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	seen := map[int]bool{}
	var out []int
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		n, err := strconv.Atoi(f[16]) // field 19 of stat
		require.NoError(t, err)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// gatewayOf is the gateway process of the supervisor s: its child.
func gatewayOf(t testing.TB, s *sup) int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid))
	require.NoError(t, err)
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", s.cmd.Process.Pid, task.Name()))
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			require.NoError(t, err)
			return pid
		}
	}
	t.Fatal("the supervisor has no child")
	return 0
}

// A stop signal that reaches "supervisor run" just after its gateway died
// of the same stop (kill(-1) at a container stop: the gateway, exiting at
// once on SIGTERM, is reported exited before run sees its own SIGTERM) is
// decided as the stop it is: the plain signal's decision (running, exit
// 1, trigger signal), never the gateway's "exited 0: done".
func TestStopArrivingWithTheGatewaysExit(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-term-exit", "0"}, "")
	s := e.start()
	s.waitReady(t)
	gw := gatewayOf(t, s)
	require.NoError(t, syscall.Kill(-gw, syscall.SIGTERM))
	// The gateway exits at once; run's own signal comes a moment later,
	// within the settle window but after run has seen the exit.
	for i := 0; i < 1000 && syscall.Kill(gw, 0) == nil; i++ {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, s.wait(t), "a plain signal: revive me\n%s", s.stderr)
	f := e.state()
	assert.Equal(t, "running", f.GatewayState)
	assert.Equal(t, hostabi.TriggerSignal.String(), f.Trigger, s.stderr.String())
	h := e.history()
	require.NotEmpty(t, h)
	assert.Equal(t, hostabi.TriggerSignal, h[len(h)-1].Trigger, "the exit history records a stop, not an exit")
}

// At a container stop the gateway's s6-log may die before "supervisor run"
// has finished its stop: its next log line then meets a closed pipe. It
// must fail that write and go on, not die of SIGPIPE with its stop half
// done.
func TestStopSurvivesADeadLogger(t *testing.T) {
	e := newEnv(t, profile.Root, []string{"-term-exit", "0"}, "")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	nr, nw, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(supervisorBin, "--config", e.cfg, "-p", e.p.Name, "run", "--notify-fd", "3")
	cmd.ExtraFiles = []*os.File{nw}
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	w.Close()
	nw.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	line, err := bufio.NewReader(nr).ReadString('\n')
	require.NoError(t, err, "no readiness")
	require.Equal(t, "\n", line)
	r.Close() // the logger dies
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.False(t, ws.Signaled(), "run was killed by %v: %v", ws.Signal(), err)
	assert.Equal(t, 1, ws.ExitStatus(), "the plain signal's decision")
	f := e.state()
	assert.Equal(t, "running", f.GatewayState)
	assert.Equal(t, hostabi.TriggerSignal.String(), f.Trigger)
	assert.Equal(t, hostabi.PriorExitClean, lifecycle.PriorExit(state.ReadFacts(e.p)), "the stop reached its clean exit path")
}

// run decided its stop, made it durable, then died before its clean exit
// path (stage 3's SIGKILL): finish follows the decision on disk and never
// overwrites it with an exit decision.
func TestFinishFollowsAStopOnDisk(t *testing.T) {
	e := newEnv(t, profile.Root, nil, "")
	now := time.Now()
	l, err := state.BeginLife(e.p.Ledger, state.Proc{Pid: 1, StartTime: 1}, now.Add(-time.Minute))
	require.NoError(t, err)
	l.Stopping = &state.Stopping{Trigger: "operator", At: now.Add(-time.Second)} // what run notes after deciding
	require.NoError(t, state.WriteLedgerVia(nil, e.p.Ledger, l))
	code := 0
	_, err = state.Set(e.p.State, state.Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateStopped, ExitCode: &code,
		Reason: "operator stop", Policy: "default@12345678", Trigger: hostabi.TriggerOperator.String()}, now.Add(-time.Second))
	require.NoError(t, err)
	assert.Equal(t, 125, e.finish(256, 9), "the operator's stop keeps the slot down")
	f := e.state()
	assert.Equal(t, "stopped", f.GatewayState)
	assert.Equal(t, "operator", f.Trigger, "not overwritten by an exit decision")
	h := e.history()
	require.Len(t, h, 1)
	assert.Equal(t, hostabi.TriggerOperator, h[0].Trigger)
}

// run killed by a stop signal it could not yet handle (its first
// milliseconds): finish decides the stop, never an exit.
func TestFinishDecidesAStopThatKilledRun(t *testing.T) {
	e := newEnv(t, profile.Root, nil, "")
	now := time.Now()
	_, err := state.BeginLife(e.p.Ledger, state.Proc{Pid: 1, StartTime: 1}, now.Add(-time.Second))
	require.NoError(t, err)
	_, err = state.Set(e.p.State, state.Change{Gateway: hostabi.StateRunning, Desired: hostabi.StateRunning}, now.Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 0, e.finish(256, 15), "a plain SIGTERM: restart if wanted up")
	f := e.state()
	assert.Equal(t, "running", f.GatewayState)
	assert.Equal(t, "signal", f.Trigger, "a container stop, not an exit")
	h := e.history()
	require.Len(t, h, 1)
	assert.Equal(t, hostabi.TriggerSignal, h[0].Trigger)
}
