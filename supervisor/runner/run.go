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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// NotifyEnv names the environment variable that tells the gateway which
// file descriptor is its notification channel.
const NotifyEnv = "HERMES_NOTIFY_FD"

// NotifyFD is the gateway's notification channel: the write end of a pipe
// at this descriptor.
const NotifyFD = 3

// Options configure Run and Finish.
type Options struct {
	Config config.Config // the effective configuration for the profile
	Paths  profile.Paths
	Engine engine.Decider
	Logger *slog.Logger
	Now    func() time.Time // the clock; nil = time.Now
	Notify *os.File         // s6's readiness descriptor (Run only); nil = none
	Stdout io.Writer        // the gateway's output; nil = os.Stdout
	Stderr io.Writer        // nil = os.Stderr
	// Markers is the planned-stop marker TTL; 0 = state.DefaultMarkerTTL.
	Markers time.Duration
	// Signals delivers StopSignals (Run only). The command subscribes
	// before it loads the configuration and the policy, so that a stop
	// arriving meanwhile is not fatal to the process; nil = Run subscribes.
	Signals chan os.Signal
	// YieldCPU lowers every thread of this process to niceness 19 once a
	// shutdown decision is durable (see yieldCPU). The run command sets
	// it: its process ends with the stop. A caller whose process goes on
	// with other work leaves it false.
	YieldCPU bool
	// VerdictFile is the slot's file for handing the verdict to its
	// finish script (see handOver); "" = none.
	VerdictFile string
	// ReleaseImage hands the binary's read-only pages back to the kernel
	// once the gateway is ready (see releaseImage). The run command sets
	// it; a test process leaves it false.
	ReleaseImage bool
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

// facts reads what the volume remembers of the profile for a decision
// during a life (the state file, the exit history), logging what it could
// not read.
func (o *Options) facts() state.Facts {
	f := state.ReadLiveFacts(o.Paths)
	for _, w := range f.Warnings {
		o.Logger.Warn("runner: unreadable, read as nothing known", "err", w)
	}
	return f
}

// decide asks the policy, with the native fallback behind it.
func (o *Options) decide(ctx context.Context, in hostabi.Input) policy.Result {
	return engine.Decide(ctx, o.Engine, in, o.Logger)
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
		Policy: r.Policy, Fallback: r.Fallback, FallbackReason: r.FallbackReason, Digest: r.Digest}
	if note != nil {
		note(&e)
	}
	if err := journal.Append(o.Paths.Journal, e); err != nil {
		o.Logger.Warn("runner: decision journal", "err", err)
	}
}

// persistExit makes an exit decision's state durable (when it names one)
// through set, then adds rec to the exit history: what run does when its
// gateway exits, and finish when run could not.
func (o *Options) persistExit(set func(state.Change, time.Time) (state.File, error), r policy.Result, rec hostabi.ExitRecord, now time.Time) {
	if c, ok := lifecycle.ExitChange(r.Decision, r.DecidedBy()); ok {
		if _, err := set(c, now); err != nil {
			o.Logger.Error("runner: persist the exit decision", "err", err)
		}
	}
	o.appendHistory(rec)
}

func (o *Options) appendHistory(rec hostabi.ExitRecord) {
	if err := state.AppendHistory(o.Paths.History, rec); err != nil {
		o.Logger.Error("runner: exit history", "err", err)
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

// exitSettle is how long "supervisor run", once its gateway has exited,
// waits for a stop signal to itself before it takes the exit for the
// gateway's own.
//
// A signal sent to every process at once (stage 3's kill(-1, SIGTERM), a
// signal to the whole process tree) reaches this process and the gateway
// together; a gateway that exits at once on it may be reported exited
// before this process has seen its own signal. The kernel serialises the
// two: kill(-1) sends every signal before any process it hits can finish
// exiting, so by the time the gateway's exit is reported, this process's
// signal is pending (stopPending sees it, and run waits for it) or already
// with the Go runtime, which hands it over within microseconds; exitSettle
// bounds that hand-over generously. A gateway that exits by itself costs
// this much more before its exit is decided.
const exitSettle = 50 * time.Millisecond

// stopWithExit looks, once the gateway has exited, for a stop signal that
// came with its exit (see exitSettle).
func stopWithExit(sigs <-chan os.Signal) (syscall.Signal, bool) {
	wait := exitSettle
	if stopPending() {
		wait = time.Second // the kernel holds it for this process: it is coming
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case s := <-sigs:
			if sig := s.(syscall.Signal); sig != syscall.SIGHUP {
				return sig, true
			}
		case <-t.C:
			return 0, false
		}
	}
}

// stopPending reports whether a stop signal (SIGTERM, SIGINT, SIGQUIT) is
// pending for this process, not yet delivered to it.
func stopPending() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "ShdPnd:")
		if !ok {
			v, ok = strings.CutPrefix(line, "SigPnd:")
		}
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			continue
		}
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT} {
			if mask&(1<<(uint(sig)-1)) != 0 {
				return true
			}
		}
	}
	return false
}

// survivePipes makes a write to a closed pipe fail with EPIPE instead of
// killing this process: at a container stop the gateway's s6-log may die
// first, and the supervisor must still finish the stop it is deciding. (A
// handler, not SIG_IGN: the gateway started afterwards gets the default.)
func survivePipes() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// StopSignals are the signals "supervisor run" handles: SIGTERM, SIGINT and
// SIGQUIT stop the gateway; SIGHUP is caught and ignored (never forwarded:
// the hermes gateway has no handler for it, and dies of it).
var StopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP}

// Environment variables the gateway gets besides run's own environment.
const (
	// EnvHome is the volume (the root profile's home): hermes resolves
	// "-p NAME" to $HERMES_HOME/profiles/NAME, and without it looks in
	// ~/.hermes.
	EnvHome = "HERMES_HOME"
	// EnvSupervisedChild tells hermes it runs as the child of a
	// supervisor (upstream's own s6 slot sets it): without it, "hermes
	// gateway run" with no -p follows <home>/active_profile, and in an
	// s6-overlay container turns itself into "s6-svc -u" and a sleep.
	EnvSupervisedChild = "HERMES_S6_SUPERVISED_CHILD"
)

// gatewayEnv is the gateway's environment: run's own, with HERMES_HOME,
// HERMES_S6_SUPERVISED_CHILD, HERMES_PROFILE and the notification
// descriptor set (replacing any value run inherited).
func gatewayEnv(home, name string) []string {
	set := map[string]string{
		EnvHome:            home,
		EnvSupervisedChild: "1",
		"HERMES_PROFILE":   name,
		NotifyEnv:          fmt.Sprint(NotifyFD),
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for _, k := range []string{EnvHome, EnvSupervisedChild, "HERMES_PROFILE", NotifyEnv} {
		env = append(env, k+"="+set[k])
	}
	return env
}

// life is one gateway life.
type life struct {
	o      *Options
	ledger state.Ledger
	cmd    *exec.Cmd
	pgid   int
	lc     lifecycle.Life // phase and start of the gateway
	ready  bool
	// keeper writes gateway_state.json with its lock, directory and
	// spare temporary files opened beforehand, and ledgerOut and
	// historyOut the ledger and the exit history: the stop path creates
	// no file.
	keeper     *state.Keeper
	ledgerOut  *state.Prepared
	historyOut *state.Prepared
}

// ExitTemporary is what "supervisor run" exits with when the gateway could
// not be started or the volume not written: s6's "temporary failure", so
// s6 retries after its usual delay.
const ExitTemporary = 111

// Run supervises one gateway life and returns the code "supervisor run"
// exits with. Errors before the gateway starts (it cannot be started, the
// volume cannot be written) are returned with ExitTemporary.
func Run(ctx context.Context, o Options) (int, error) {
	survivePipes()
	if o.Logger == nil {
		o.Logger = slog.Default()
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
		defer signal.Stop(ch) // a caller that goes on (a test) gets the default back
		sigs = ch
	}

	self, err := state.Self()
	if err != nil {
		return ExitTemporary, fmt.Errorf("runner: %w", err)
	}
	if err := volume.MkdirAll(o.Paths.StateDir, 0o755, nil); err != nil {
		return ExitTemporary, fmt.Errorf("runner: %w", err)
	}
	home, err := filepath.Abs(o.Config.Home)
	if err != nil {
		return ExitTemporary, fmt.Errorf("runner: %w", err)
	}
	if did, err := state.MigrateLedger(o.Paths.GatewayLedger, o.Paths.Ledger); err != nil {
		o.Logger.Warn("runner: ledger", "err", err)
	} else if did != "" {
		o.Logger.Info("runner: " + did)
	}
	prev, _, _ := state.ReadLedger(o.Paths.Ledger)
	if prev.Phase == state.PhaseRunning {
		reapLeftover(o.Logger, prev.Gateway, o.Config.Gateway.StopGrace.D())
	}
	l := &life{o: &o, lc: lifecycle.Life{Phase: hostabi.PhaseStarting}, keeper: state.NewKeeper(o.Paths.State)}
	defer l.keeper.Close()
	if l.ledger, err = state.BeginLife(o.Paths.Ledger, self, o.now()); err != nil {
		return ExitTemporary, err
	}
	for _, p := range []string{o.Paths.Ledger, o.Paths.History} {
		state.RemoveOrphans(p) // spares of a supervisor that was killed
	}
	l.ledgerOut, l.historyOut = state.Prepare(o.Paths.Ledger, 2), state.Prepare(o.Paths.History, 1)
	defer l.ledgerOut.Close()
	defer l.historyOut.Close()

	// The restart delay the previous life's exit decision asked for is
	// served here, before the gateway starts.
	if wait := l.ledger.RestartNotBefore.Sub(o.now()); wait > 0 {
		o.Logger.Info("runner: waiting out the restart delay", "until", l.ledger.RestartNotBefore.Format(time.RFC3339), "wait", wait.String())
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
		return ExitTemporary, fmt.Errorf("runner: notification pipe: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in the gateway
	cmd.Env = gatewayEnv(home, o.Paths.Name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		code := ExitTemporary
		l.persist(state.Change{Gateway: hostabi.StateStartupFailed, Reason: "cannot start " + argv[0]})
		_ = state.EndLife(o.Paths.Ledger, l.ledger, code, "gateway did not start", o.now())
		return code, fmt.Errorf("runner: start gateway %q: %w", argv[0], err)
	}
	pw.Close()
	l.cmd, l.pgid, l.lc.StartedAt = cmd, cmd.Process.Pid, o.now()
	if gp, err := state.ProcOf(cmd.Process.Pid); err == nil {
		l.ledger.Gateway = gp
	} else {
		l.ledger.Gateway = state.Proc{Pid: cmd.Process.Pid}
	}
	if err := state.WriteLedger(o.Paths.Ledger, l.ledger); err != nil {
		o.Logger.Warn("runner: ledger", "err", err)
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
				o.Logger.Info("runner: SIGHUP ignored: not forwarded (the gateway has no reload and would die of it), nothing persisted")
				continue
			}
			return l.stopRunning(ctx, sig, self, sigs, exited), nil
		case err := <-exited:
			if sig, ok := stopWithExit(sigs); ok {
				// The stop reached this process and the gateway together
				// (kill(-1) at a container stop, a signal to the whole
				// process tree): it is a stop, decided as such.
				o.Logger.Info("runner: the gateway exited together with a stop signal to this process; deciding the stop", "signal", sig.String())
				done := make(chan error, 1)
				done <- err
				return l.stopRunning(ctx, sig, self, sigs, done), nil
			}
			return l.exited(ctx, err, self), nil
		}
	}
}

// report handles one line from the gateway's notification channel. It
// returns true when the gateway said "phase=starting" before being ready:
// it will notify readiness itself, so ready_after no longer applies.
func (l *life) report(line string) bool {
	p, ready, ok := lifecycle.ParsePhase(line)
	if !ok {
		l.o.Logger.Warn("runner: ignoring a notification line the gateway sent", "line", line)
		return false
	}
	if ready && !l.ready {
		l.markReady()
		return false
	}
	if !l.ready {
		if p != hostabi.PhaseStarting {
			l.lc.Phase = p
		}
		return p == hostabi.PhaseStarting
	}
	if p == l.lc.Phase {
		return false
	}
	l.lc.Phase = p
	l.writePhase()
	l.persist(state.Change{Gateway: lifecycle.PhaseState(p), Reason: "gateway reports " + p.String()})
	return false
}

func (l *life) markReady() {
	if l.ready {
		return
	}
	l.ready = true
	if l.lc.Phase == hostabi.PhaseStarting || l.lc.Phase == hostabi.PhaseNone {
		l.lc.Phase = hostabi.PhaseRunning
	}
	l.persist(state.Change{Gateway: lifecycle.PhaseState(l.lc.Phase), Desired: hostabi.StateRunning, Reason: "gateway ready"})
	l.writePhase()
	if n := l.o.Notify; n != nil {
		if _, err := n.Write([]byte("\n")); err != nil {
			l.o.Logger.Warn("runner: readiness notification to s6", "err", err)
		}
		n.Close()
		l.o.Notify = nil
	}
	// What a stop encodes, encoded once now: its reflection caches are
	// then built while nothing waits.
	state.Warm()
	_, _ = journal.Encode(journal.Entry{Input: hostabi.Input{History: []hostabi.ExitRecord{{}}}})
	if l.o.ReleaseImage {
		releaseImage()
	}
}

func (l *life) writePhase() {
	if err := state.WriteAtomic(l.o.Paths.Phase, []byte(l.lc.Phase.String()+"\n"), 0o644); err != nil {
		l.o.Logger.Warn("runner: phase file", "err", err)
	}
}

func (l *life) persist(c state.Change) {
	if _, err := l.keeper.Set(c, l.o.now()); err != nil {
		l.o.Logger.Error("runner: persist state", "err", err)
	}
	l.keeper.Prepare() // the spare for the next write, while nothing is urgent
}

// decideStop classifies a stop signal, makes the policy's answer durable,
// and only then calls forward (which signals the gateway).
//
// When the decided gateway_state and desired_state are what the state file
// on disk already says, durably (the Keeper's last write, untouched since:
// a plain SIGTERM to a running gateway under the default policy), the
// decision is durable on arrival: forward comes first, and the record of
// this stop (reason, trigger, exit code, policy) is written once the
// gateway is gone (recordStop), with no fsync: the decided states are
// durable already. A SIGKILL in between leaves the decided states and the
// previous record, never a state the policy did not decide. recorded
// reports whether the record was written with the decision.
func (l *life) decideStop(ctx context.Context, sig syscall.Signal, self state.Proc, forward func()) (policy.Result, hostabi.Trigger, hostabi.Input, state.Marker, bool) {
	arrived := time.Now()
	now := l.o.now()
	m, j, err := state.ConsumeMarker(l.o.Paths.Marker, self, now, l.o.ttl())
	if err != nil {
		l.o.Logger.Warn("runner: planned-stop marker", "err", err)
	}
	trigger := lifecycle.TriggerOf(j, m)
	in := lifecycle.ShutdownInput(now, l.o.Paths.Name, l.o.facts(), l.lc, trigger, sig)
	r := l.o.decide(ctx, in)
	d := r.Decision
	code := int(d.ExitCode)
	record := func() {
		if _, err := l.keeper.Set(lifecycle.ShutdownChange(d, r.DecidedBy(), trigger), now); err != nil {
			l.o.Logger.Error("runner: persist the shutdown decision", "err", err)
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
	l.markStopping(trigger, now)
	l.o.Logger.Info("runner: shutdown decided and durable", "signal", sig.String(), "marker", j.String(), "trigger", trigger.String(),
		"state", d.State.String(), "desired", d.Desired.String(), "exit", code, "reason", d.Reason, "policy", r.DecidedBy(),
		"durable", durable, "took", took.String())
	return r, trigger, in, m, !already
}

// markStopping notes in the ledger, once the decision is durable and the
// gateway signalled, that this life decided its stop: should run die
// before its clean exit path, finish then follows the decision on disk
// instead of deciding an exit (lifecycle.StopOfThisLife). Not fsynced, and
// through a spare: it costs a rename.
func (l *life) markStopping(trigger hostabi.Trigger, now time.Time) {
	l.ledger.Stopping = &state.Stopping{Trigger: trigger.String(), At: now}
	if err := state.WriteLedgerVia(l.ledgerOut, l.o.Paths.Ledger, l.ledger); err != nil {
		l.o.Logger.Warn("runner: ledger", "err", err)
	}
}

func (l *life) yield() {
	if l.o.YieldCPU {
		yieldCPU()
	}
}

// stop handles a stop signal when no gateway runs (during a restart delay).
func (l *life) stop(ctx context.Context, sig syscall.Signal, self state.Proc) int {
	r, trigger, in, m, recorded := l.decideStop(ctx, sig, self, func() {})
	l.yield()
	l.recordStop(r, trigger, in, recorded)
	l.o.record(journal.SourceRun, in, r, markerNote(trigger, m))
	code := int(r.Decision.ExitCode)
	l.finishLife(r, hostabi.KindShutdown, code)
	return code
}

// stopRunning: decide, persist, THEN signal the gateway's group, wait the
// grace, SIGKILL what remains, record history, verdict and ledger.
func (l *life) stopRunning(ctx context.Context, sig syscall.Signal, self state.Proc, sigs <-chan os.Signal, exited <-chan error) int {
	r, trigger, in, m, recorded := l.decideStop(ctx, sig, self, func() { _ = syscall.Kill(-l.pgid, sig); l.yield() })
	l.o.record(journal.SourceRun, in, r, markerNote(trigger, m)) // while the gateway shuts down
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
			if s != syscall.SIGHUP {
				_ = syscall.Kill(-l.pgid, s.(syscall.Signal)) // pass further signals on
			}
		case <-grace.C:
			l.o.Logger.Warn("runner: the gateway outlived the stop grace; SIGKILL", "grace", l.o.Config.Gateway.StopGrace.String())
			_ = syscall.Kill(-l.pgid, syscall.SIGKILL)
			killed = true
		}
	}
	if !killed {
		_ = syscall.Kill(-l.pgid, syscall.SIGKILL) // whatever the gateway left behind in its group
	}
	st := statusOf(werr, l.cmd)
	now := l.o.now()
	l.recordStop(r, trigger, in, recorded)
	l.appendHistory(lifecycle.ExitRecord(now, l.lc.StartedAt, st, trigger, hostabi.ActionNone))
	code := int(r.Decision.ExitCode)
	l.finishLife(r, hostabi.KindShutdown, code)
	return code
}

// recordStop writes, once the gateway is gone, what the state file must
// say of this stop, with no fsync (the decided states are durable
// already): the stop's record (reason, trigger, exit code, policy) when it
// was not written with the decision, and the decision again when the
// gateway's own last writes undid it. The hermes gateway writes
// gateway_state.json on its way out (draining, then its own terminal
// state, "running" after any signal it was not told was planned), after
// the decision was made durable; see lifecycle.Reapply for what is written
// again.
func (l *life) recordStop(r policy.Result, trigger hostabi.Trigger, in hostabi.Input, recorded bool) {
	decided := lifecycle.ShutdownChange(r.Decision, r.DecidedBy(), trigger)
	f, err := state.Read(l.o.Paths.State)
	if err != nil {
		l.o.Logger.Warn("runner: state after the gateway exited", "err", err)
	}
	c, undone := lifecycle.Reapply(decided, in.Desired, f)
	if !recorded {
		c = decided
		if !undone && decided.Desired != hostabi.StateNone && f.Desired() != decided.Desired {
			c.Desired = hostabi.StateNone // changed since by someone else (an operator's start): theirs
		}
	} else if !undone {
		return
	}
	if _, err := l.keeper.SetLazy(c, l.o.now()); err != nil {
		l.o.Logger.Error("runner: record the stop", "err", err)
		return
	}
	if undone {
		l.o.Logger.Info("runner: the gateway's last write undid the decision; written again", "gateway_state_found", f.GatewayState,
			"state", c.Gateway.String(), "desired", c.Desired.String())
	}
}

func (l *life) appendHistory(rec hostabi.ExitRecord) {
	if err := state.AppendHistoryVia(l.historyOut, l.o.Paths.History, rec); err != nil {
		l.o.Logger.Error("runner: exit history", "err", err)
	}
}

// exited handles the gateway ending by itself.
func (l *life) exited(ctx context.Context, werr error, self state.Proc) int {
	_ = syscall.Kill(-l.pgid, syscall.SIGKILL) // orphans left in the gateway's group
	st := statusOf(werr, l.cmd)
	now := l.o.now()
	in := lifecycle.ExitInput(now, l.o.Paths.Name, l.o.facts(), l.lc, st)
	r := l.o.decide(ctx, in)
	d := r.Decision
	if c, ok := lifecycle.ExitChange(d, r.DecidedBy()); ok {
		if _, err := l.keeper.Set(c, now); err != nil {
			l.o.Logger.Error("runner: persist the exit decision", "err", err)
		}
	}
	l.appendHistory(lifecycle.ExitRecord(now, l.lc.StartedAt, st, hostabi.TriggerExited, d.Action))
	code := st.RunExitCode()
	l.o.Logger.Info("runner: gateway exited", "code", st.Code, "signal", int(st.Signal), "action", d.Action.String(),
		"delay", d.Delay.String(), "reason", d.Reason, "policy", r.DecidedBy())
	l.o.record(journal.SourceRun, in, r, nil)
	l.finishLife(r, hostabi.KindExit, code)
	return code
}

// finishLife closes the ledger with the verdict for finish (and the
// restart delay the next life serves): a clean exit path. It also hands
// the verdict to the slot's finish script, when run was given a file for
// it. gateway.pid is the gateway's: never touched here.
func (l *life) finishLife(r policy.Result, k hostabi.Kind, code int) {
	now := l.o.now()
	v := lifecycle.Verdict(l.ledger.Supervisor, k, r.Decision, r.DecidedBy(), code, now)
	l.o.handOver(v)
	_ = volume.Remove(l.o.Paths.Phase)
	if err := state.FinishLife(l.o.Paths.Ledger, l.ledger, v, lifecycle.RestartNotBefore(v), l.ledgerOut); err != nil {
		l.o.Logger.Error("runner: ledger", "err", err)
	}
}

func statusOf(werr error, cmd *exec.Cmd) lifecycle.ExitStatus {
	ps := cmd.ProcessState
	if ps == nil {
		return lifecycle.ExitStatus{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return lifecycle.ExitStatus{Code: -1, Signal: ws.Signal()}
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return lifecycle.ExitStatus{Code: -1}
	}
	return lifecycle.ExitStatus{Code: ps.ExitCode()}
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
		if state.Gone(gw) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-gw.Pid, syscall.SIGKILL)
}
