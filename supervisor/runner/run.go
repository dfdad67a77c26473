package runner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// NotifyEnv names the environment variable that tells the gateway which
// file descriptor is its notification channel.
const NotifyEnv = "HERMES_NOTIFY_FD"

// NotifyFD is the gateway's notification channel: the write end of a pipe
// at this descriptor.
const NotifyFD = 3

// Decider makes decisions; *policy.Engine is one.
type Decider interface {
	Decide(ctx context.Context, in *hostabi.Input) (policy.Result, error)
	Identity() string
}

// Options configure Run and Finish.
type Options struct {
	Config  config.Config // the effective configuration for the profile
	Paths   profile.Paths
	Engine  Decider
	Log     *slog.Logger
	Now     func() time.Time // the clock; nil = time.Now
	Notify  *os.File         // s6's readiness descriptor (Run only); nil = none
	Stdout  io.Writer        // the gateway's output; nil = os.Stdout
	Stderr  io.Writer        // nil = os.Stderr
	Markers time.Duration    // planned-stop marker TTL; 0 = state.DefaultMarkerTTL
	// Signals delivers StopSignals (Run only). The command subscribes
	// before it loads the configuration and the policy, so that a stop
	// arriving meanwhile is not fatal to the process; nil = Run subscribes.
	Signals chan os.Signal
	// YieldCPU lowers every thread of this process to niceness 19 once a
	// shutdown decision is durable (see yieldCPU). The run command sets
	// it: its process ends with the stop. A caller whose process goes on
	// with other work leaves it false.
	YieldCPU bool
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) ttl() time.Duration {
	if o.Markers > 0 {
		return o.Markers
	}
	return state.DefaultMarkerTTL
}

// decide asks the policy. When the engine fails (on_error = "fail", or a
// broken engine) the native fallback decides anyway: a broken policy never
// loses the state write.
func (o *Options) decide(ctx context.Context, in hostabi.Input) policy.Result {
	r, err := o.Engine.Decide(ctx, &in)
	if err == nil {
		return r
	}
	o.Log.Error("runner: policy failed; deciding with the native fallback", "err", err)
	in.Params = nil
	return policy.Result{Decision: fallback.Decide(&in), Policy: policy.FallbackIdentity, Fallback: true, FallbackReason: err.Error(), Failed: true}
}

// record appends a decision to the profile's decision journal. It is
// called once the decided state is durable (and, on a stop, once the
// gateway is signalled): the journal is a log, not the truth, and is never
// fsynced. A failure is logged, never returned. note adds what only the
// caller knows (the planned-stop marker).
func (o *Options) record(source string, in hostabi.Input, r policy.Result, note func(*journal.Entry)) {
	if in.Params == nil { // what the engine used: its options' parameters, from the same [policy.params]
		ps, err := hostabi.ParamsFromMap(o.Config.Policy.Params)
		if err == nil {
			in.Params = ps
		}
	}
	e := journal.Entry{Time: in.Now, Profile: o.Paths.Name, Kind: in.Kind, Source: source, Input: in, Decision: r.Decision,
		Policy: r.Policy, Fallback: r.Fallback, FallbackReason: r.FallbackReason}
	if dg, ok := o.Engine.(interface{ Digest() string }); ok && r.Policy == o.Engine.Identity() {
		e.Digest = dg.Digest()
	}
	if note != nil {
		note(&e)
	}
	if err := journal.Append(o.Paths.Journal, e); err != nil {
		o.Log.Warn("runner: decision journal", "err", err)
	}
}

// markerNote records the planned-stop marker a shutdown honoured.
func markerNote(trigger hostabi.Trigger, m state.Marker) func(*journal.Entry) {
	return func(e *journal.Entry) {
		if trigger == hostabi.TriggerOperator || trigger == hostabi.TriggerRestart {
			e.Stopper, e.MarkerAt = m.StopperPid, m.WrittenAt
		}
	}
}

// StopSignals are the signals "supervisor run" handles: SIGTERM, SIGINT and
// SIGQUIT stop the gateway; SIGHUP is forwarded to it.
var StopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP}

// life is one gateway life.
type life struct {
	o       *Options
	ledger  state.Ledger
	cmd     *exec.Cmd
	pgid    int
	started time.Time
	phase   hostabi.Phase
	ready   bool
	// keeper writes gateway_state.json with its lock, directory and a
	// spare temporary file opened beforehand, so that the stop path
	// creates nothing.
	keeper *state.Keeper
}

// Run supervises one gateway life and returns the code "supervisor run"
// exits with. Errors before the gateway starts (it cannot be started, the
// volume cannot be written) are returned with code 111 (s6's "temporary
// failure"), so s6 retries after its usual delay.
func Run(ctx context.Context, o Options) (int, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	argv := GatewayCommand(o.Config.Gateway, o.Paths.Name)
	// Signals are caught from the start: a stop that arrives while the
	// gateway starts is still classified and persisted.
	sigs := o.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 8)
		signal.Notify(ch, StopSignals...)
		defer signal.Stop(ch)
		sigs = ch
	}

	self, err := state.Self()
	if err != nil {
		return 111, fmt.Errorf("runner: %w", err)
	}
	if err := os.MkdirAll(o.Paths.StateDir, 0o755); err != nil {
		return 111, fmt.Errorf("runner: %w", err)
	}
	prev, _, _ := state.ReadLedger(o.Paths.Lifecycle)
	if prev.Phase == state.PhaseRunning {
		reapLeftover(o.Log, prev.Gateway, o.Config.Gateway.StopGrace.D())
	}
	l := &life{o: &o, phase: hostabi.PhaseStarting, keeper: state.NewKeeper(o.Paths.State)}
	defer l.keeper.Close()
	if l.ledger, err = state.BeginLife(o.Paths.Lifecycle, self, o.now()); err != nil {
		return 111, err
	}

	// A restart delay that did not fit in s6's finish timeout is served here.
	if wait := l.ledger.RestartNotBefore.Sub(o.now()); wait > 0 {
		o.Log.Info("runner: waiting out the restart delay", "until", l.ledger.RestartNotBefore.Format(time.RFC3339), "wait", wait.String())
		t := time.NewTimer(wait)
		for waiting := true; waiting; {
			select {
			case <-t.C:
				waiting = false
			case s := <-sigs:
				if s == syscall.SIGHUP {
					continue
				}
				t.Stop()
				return l.stop(ctx, s.(syscall.Signal), self), nil
			}
		}
		l.ledger.RestartNotBefore = time.Time{}
	}

	// A stop that arrived while this process started (s6 reports a service
	// up as soon as it runs) is decided before any gateway is started.
	select {
	case s := <-sigs:
		if s != syscall.SIGHUP {
			return l.stop(ctx, s.(syscall.Signal), self), nil
		}
	default:
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		return 111, fmt.Errorf("runner: notification pipe: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in the gateway
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", NotifyEnv, NotifyFD), "HERMES_PROFILE="+o.Paths.Name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		code := 111
		l.persist(state.Change{Gateway: hostabi.StateStartupFailed, Reason: "cannot start " + argv[0]})
		_ = state.EndLife(o.Paths.Lifecycle, l.ledger, code, "gateway did not start", o.now())
		return code, fmt.Errorf("runner: start gateway %q: %w", argv[0], err)
	}
	pw.Close()
	l.cmd, l.pgid, l.started = cmd, cmd.Process.Pid, o.now()
	if gp, err := state.ProcOf(cmd.Process.Pid); err == nil {
		l.ledger.Gateway = gp
	} else {
		l.ledger.Gateway = state.Proc{Pid: cmd.Process.Pid}
	}
	if err := state.WriteLedger(o.Paths.Lifecycle, l.ledger); err != nil {
		o.Log.Warn("runner: ledger", "err", err)
	}
	if err := state.WritePid(o.Paths.Pid, cmd.Process.Pid); err != nil {
		o.Log.Warn("runner: pid file", "err", err)
	}
	l.persist(state.Change{Gateway: hostabi.StateStarting, Reason: "gateway starting"})

	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		pr.Close()
		close(lines)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	readyT := time.NewTimer(o.Config.Gateway.ReadyAfter.D())
	defer readyT.Stop()
	readyC := readyT.C
	for {
		select {
		case <-readyC:
			readyC = nil
			l.markReady()
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if l.report(line) {
				readyC = nil // the gateway announced it will notify
			}
		case s := <-sigs:
			sig := s.(syscall.Signal)
			if sig == syscall.SIGHUP {
				o.Log.Info("runner: forwarding SIGHUP to the gateway (reload); nothing persisted")
				_ = syscall.Kill(-l.pgid, syscall.SIGHUP)
				continue
			}
			return l.stopRunning(ctx, sig, self, sigs, exited), nil
		case err := <-exited:
			return l.exited(ctx, err, self), nil
		}
	}
}

// report handles one line from the gateway's notification channel. It
// returns true when the gateway said "phase=starting" before being ready:
// it will notify readiness itself, so ready_after no longer applies.
func (l *life) report(line string) bool {
	p, ready, ok := ParsePhase(line)
	if !ok {
		l.o.Log.Warn("runner: ignoring a notification line the gateway sent", "line", line)
		return false
	}
	if ready && !l.ready {
		l.markReady()
		return false
	}
	if !l.ready {
		if p != hostabi.PhaseStarting {
			l.phase = p
		}
		return p == hostabi.PhaseStarting
	}
	if p == l.phase {
		return false
	}
	l.phase = p
	l.writePhase()
	l.persist(state.Change{Gateway: PhaseState(p), Reason: "gateway reports " + p.String()})
	return false
}

func (l *life) markReady() {
	if l.ready {
		return
	}
	l.ready = true
	if l.phase == hostabi.PhaseStarting || l.phase == hostabi.PhaseNone {
		l.phase = hostabi.PhaseRunning
	}
	l.persist(state.Change{Gateway: PhaseState(l.phase), Desired: hostabi.StateRunning, Reason: "gateway ready"})
	l.writePhase()
	if n := l.o.Notify; n != nil {
		if _, err := n.Write([]byte("\n")); err != nil {
			l.o.Log.Warn("runner: readiness notification to s6", "err", err)
		}
		n.Close()
		l.o.Notify = nil
	}
}

func (l *life) writePhase() {
	if err := state.WriteAtomic(l.o.Paths.Phase, []byte(l.phase.String()+"\n"), 0o644); err != nil {
		l.o.Log.Warn("runner: phase file", "err", err)
	}
}

func (l *life) persist(c state.Change) {
	if _, err := l.keeper.Set(c, l.o.now()); err != nil {
		l.o.Log.Error("runner: persist state", "err", err)
	}
	l.keeper.Prepare() // the spare for the next write, while nothing is urgent
}

func (l *life) facts(now time.Time) Facts {
	f, err := state.Read(l.o.Paths.State)
	if err != nil {
		l.o.Log.Warn("runner: state unreadable", "err", err)
	}
	h, err := state.ReadHistory(l.o.Paths.History)
	if err != nil {
		l.o.Log.Warn("runner: exit history unreadable", "err", err)
	}
	return Facts{Now: now, Profile: l.o.Paths.Name, State: f, History: h, Phase: l.phase, StartedAt: l.started}
}

// decideStop classifies a stop signal, makes the policy's answer durable,
// and only then calls forward (which signals the gateway).
//
// When the decided gateway_state and desired_state are what the state file
// on disk already says, durably (the Keeper's last write, untouched since:
// a plain SIGTERM to a running gateway under the default policy), the
// decision is durable on arrival: forward comes first, and the record of
// this stop (reason, trigger, exit code, policy) is written right after.
// A SIGKILL between the two leaves the decided states and the previous
// record, never a state the policy did not decide.
func (l *life) decideStop(ctx context.Context, sig syscall.Signal, self state.Proc, forward func()) (policy.Result, hostabi.Trigger, hostabi.Input, state.Marker) {
	arrived := time.Now()
	now := l.o.now()
	m, j, err := state.ConsumeMarker(l.o.Paths.Marker, self, now, l.o.ttl())
	if err != nil {
		l.o.Log.Warn("runner: planned-stop marker", "err", err)
	}
	trigger := TriggerOf(j, m)
	in := ShutdownInput(l.facts(now), trigger, sig)
	r := l.decide(ctx, in)
	d := r.Decision
	code := int(d.ExitCode)
	record := func() {
		if _, err := l.keeper.Set(state.Change{Gateway: d.State, Desired: d.Desired, ExitCode: &code,
			Reason: d.Reason, Policy: r.DecidedBy(), Trigger: trigger.String()}, now); err != nil {
			l.o.Log.Error("runner: persist the shutdown decision", "err", err)
		}
	}
	already := l.keeper.Holds(d.State, d.Desired)
	durable := "already on disk"
	if !already {
		record()
		durable = "written"
	}
	took := time.Since(arrived)
	forward()
	if already {
		record()
	}
	l.o.Log.Info("runner: shutdown decided and durable", "signal", sig.String(), "marker", j.String(), "trigger", trigger.String(),
		"state", d.State.String(), "desired", d.Desired.String(), "exit", code, "reason", d.Reason, "policy", r.DecidedBy(),
		"durable", durable, "took", took.String())
	return r, trigger, in, m
}

func (l *life) yield() {
	if l.o.YieldCPU {
		yieldCPU()
	}
}

func (l *life) decide(ctx context.Context, in hostabi.Input) policy.Result {
	return l.o.decide(ctx, in)
}

// stop handles a stop signal when no gateway runs (during a restart delay).
func (l *life) stop(ctx context.Context, sig syscall.Signal, self state.Proc) int {
	r, trigger, in, m := l.decideStop(ctx, sig, self, func() {})
	l.yield()
	l.o.record(journal.SourceRun, in, r, markerNote(trigger, m))
	code := int(r.Decision.ExitCode)
	l.finishLife(r, hostabi.KindShutdown, code)
	return code
}

// stopRunning: decide, persist, THEN signal the gateway's group, wait the
// grace, SIGKILL what remains, record history, verdict and ledger.
func (l *life) stopRunning(ctx context.Context, sig syscall.Signal, self state.Proc, sigs <-chan os.Signal, exited <-chan error) int {
	r, trigger, in, m := l.decideStop(ctx, sig, self, func() { _ = syscall.Kill(-l.pgid, sig); l.yield() })
	l.o.record(journal.SourceRun, in, r, markerNote(trigger, m))
	grace := time.NewTimer(l.o.Config.Gateway.StopGrace.D())
	defer grace.Stop()
	var werr error
	killed := false
wait:
	for {
		select {
		case werr = <-exited:
			break wait
		case s := <-sigs:
			_ = syscall.Kill(-l.pgid, s.(syscall.Signal)) // pass further signals on
		case <-grace.C:
			l.o.Log.Warn("runner: the gateway outlived the stop grace; SIGKILL", "grace", l.o.Config.Gateway.StopGrace.String())
			_ = syscall.Kill(-l.pgid, syscall.SIGKILL)
			killed = true
		}
	}
	if !killed {
		_ = syscall.Kill(-l.pgid, syscall.SIGKILL) // whatever the gateway left behind in its group
	}
	st := statusOf(werr, l.cmd)
	now := l.o.now()
	l.appendHistory(hostabi.ExitRecord{Time: now, Uptime: now.Sub(l.started), ExitCode: int32(st.Code), Signal: int32(st.Signal), Trigger: trigger})
	code := int(r.Decision.ExitCode)
	l.finishLife(r, hostabi.KindShutdown, code)
	return code
}

// exited handles the gateway ending by itself.
func (l *life) exited(ctx context.Context, werr error, self state.Proc) int {
	_ = syscall.Kill(-l.pgid, syscall.SIGKILL) // orphans left in the gateway's group
	st := statusOf(werr, l.cmd)
	now := l.o.now()
	in := ExitInput(l.facts(now), st)
	r := l.decide(ctx, in)
	d := r.Decision
	if d.State != hostabi.StateNone || d.Desired != hostabi.StateNone {
		if _, err := l.keeper.Set(state.Change{Gateway: d.State, Desired: d.Desired, Reason: d.Reason,
			Policy: r.DecidedBy(), Trigger: hostabi.TriggerExited.String()}, now); err != nil {
			l.o.Log.Error("runner: persist the exit decision", "err", err)
		}
	}
	l.appendHistory(hostabi.ExitRecord{Time: now, Uptime: now.Sub(l.started), ExitCode: int32(st.Code), Signal: int32(st.Signal),
		Trigger: hostabi.TriggerExited, Verdict: d.Action})
	code := st.RunExitCode()
	l.o.Log.Info("runner: gateway exited", "code", st.Code, "signal", int(st.Signal), "action", d.Action.String(),
		"delay", d.Delay.String(), "reason", d.Reason, "policy", r.DecidedBy())
	l.o.record(journal.SourceRun, in, r, nil)
	l.finishLife(r, hostabi.KindExit, code)
	return code
}

func (l *life) appendHistory(rec hostabi.ExitRecord) {
	if err := state.AppendHistory(l.o.Paths.History, rec); err != nil {
		l.o.Log.Error("runner: exit history", "err", err)
	}
}

// finishLife records the verdict for finish, removes gateway.pid and closes
// the ledger: a clean exit path.
func (l *life) finishLife(r policy.Result, k hostabi.Kind, code int) {
	now := l.o.now()
	v := state.Verdict{Supervisor: l.ledger.Supervisor, RunExit: code, Kind: k, Action: r.Decision.Action, Desired: r.Decision.Desired,
		DelayMS: r.Decision.Delay.Milliseconds(), Reason: r.Decision.Reason, Policy: r.DecidedBy(), WrittenAt: now}
	if err := state.WriteVerdict(l.o.Paths.Verdict, v); err != nil {
		l.o.Log.Error("runner: verdict", "err", err)
	}
	if err := state.RemovePid(l.o.Paths.Pid); err != nil {
		l.o.Log.Warn("runner: pid file", "err", err)
	}
	_ = os.Remove(l.o.Paths.Phase)
	if err := state.EndLife(l.o.Paths.Lifecycle, l.ledger, code, r.Decision.Reason, now); err != nil {
		l.o.Log.Error("runner: ledger", "err", err)
	}
}

func statusOf(werr error, cmd *exec.Cmd) ExitStatus {
	ps := cmd.ProcessState
	if ps == nil {
		return ExitStatus{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{Code: -1, Signal: ws.Signal()}
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return ExitStatus{Code: -1}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

// reapLeftover kills a gateway left running by a supervisor that died
// (SIGKILL, OOM) without stopping it: same pid and start time as the
// ledger recorded, so never another process that reused the pid. Its whole
// process group gets SIGTERM, then SIGKILL after grace.
func reapLeftover(log *slog.Logger, gw state.Proc, grace time.Duration) {
	if gw.Pid <= 0 || gw.StartTime == 0 {
		return
	}
	live, err := state.ProcOf(gw.Pid)
	if err != nil || live != gw {
		return
	}
	log.Warn("runner: a gateway from a previous life is still running; stopping its process group", "pid", gw.Pid)
	_ = syscall.Kill(-gw.Pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if p, err := state.ProcOf(gw.Pid); err != nil || p != gw || zombie(gw.Pid) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-gw.Pid, syscall.SIGKILL)
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] == 'Z'
		}
	}
	return false
}
