package runner

import (
	"context"
	"log/slog"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// finishReapGrace is how long finish lets a gateway orphaned by a killed
// supervisor stop before SIGKILL: s6 allows finish 5 seconds in all.
const finishReapGrace = 2 * time.Second

// Finish is "supervisor finish": s6 runs it when "supervisor run" ended
// with code and sig (code 256: killed by signal sig). It returns the code
// finish exits with: FinishStopGood (125, s6 keeps the service down) or
// FinishRestart (0).
//
// When run recorded a verdict for this very life in the ledger (same exit
// code, no signal, written moments ago), finish follows it: the slot's
// finish script does the same without starting this program, from the
// copy run hands it (see package s6). Otherwise run did not reach a clean
// exit path, and finish, after stopping a gateway the dead run left
// behind:
//
//   - follows the stop run had made durable, when the state file holds a
//     shutdown decision of this life (run was killed after its decision,
//     by stage 3's SIGKILL say): never overwritten by an exit decision;
//   - decides the stop, when run itself was killed by a stop signal before
//     it could handle one (the first milliseconds of its life): a container
//     stop is never taken for an exit;
//   - else asks the policy's exit decision with what s6 reports.
//
// The ledger keeps phase=running, so the next boot reads
// prior_exit=unclean. A restart delay is never slept here: the next run
// serves it before it starts the gateway.
func Finish(ctx context.Context, o Options, code, sig int) int {
	survivePipes()
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	now := o.now()
	if v, ok := state.LedgerVerdict(o.Paths.Ledger, code, sig, now); ok {
		c := lifecycle.FinishCode(v)
		o.Logger.Info("finish: following run's verdict", "exit", c, "reason", v.Reason, "policy", v.Policy)
		return c
	}
	v := decideWithoutVerdict(ctx, &o, lifecycle.FromS6(code, sig), now)
	if t := lifecycle.RestartNotBefore(v); !t.IsZero() {
		if err := state.DeferRestart(o.Paths.Ledger, t); err != nil {
			o.Logger.Error("finish: record the restart delay", "err", err)
		}
	}
	c := lifecycle.FinishCode(v)
	o.Logger.Info("finish: decided", "exit", c, "reason", v.Reason, "policy", v.Policy)
	return c
}

func decideWithoutVerdict(ctx context.Context, o *Options, st lifecycle.ExitStatus, now time.Time) state.Verdict {
	led, ok, _ := state.ReadLedger(o.Paths.Ledger)
	if ok && led.Phase == state.PhaseRunning {
		reapLeftover(o.Logger, led.Gateway, finishReapGrace)
	}
	f := o.facts()
	life := lifecycle.Life{StartedAt: led.StartedAt}
	if trigger, ok := lifecycle.StopOfThisLife(led); ok {
		// run decided this stop and made it durable, then died.
		d := hostabi.Decision{State: f.State.Gateway(), Desired: f.State.Desired(), Reason: f.State.Reason}
		o.appendHistory(lifecycle.ExitRecord(now, led.StartedAt, st, trigger, hostabi.ActionNone))
		o.Logger.Info("finish: run died after deciding its stop; following the decision on disk", "trigger", trigger.String(), "signal", int(st.Signal))
		return lifecycle.Verdict(state.Proc{}, hostabi.KindShutdown, d, f.State.Policy, 0, now)
	}
	if isStopSignal(st.Signal) {
		// run was killed by a stop signal it could not yet handle: the
		// stop it is, decided as run would have.
		m, j, err := state.ConsumeMarker(o.Paths.Marker, led.Supervisor, now, o.ttl())
		if err != nil {
			o.Logger.Warn("finish: planned-stop marker", "err", err)
		}
		trigger := lifecycle.TriggerOf(j, m)
		in := lifecycle.ShutdownInput(now, o.Paths.Name, f, life, trigger, st.Signal)
		r := o.decide(ctx, in)
		set := func(c state.Change, now time.Time) (state.File, error) { return state.Set(o.Paths.State, c, now) }
		if _, err := set(lifecycle.ShutdownChange(r.Decision, r.DecidedBy(), trigger), now); err != nil {
			o.Logger.Error("finish: persist the shutdown decision", "err", err)
		}
		o.appendHistory(lifecycle.ExitRecord(now, led.StartedAt, st, trigger, hostabi.ActionNone))
		o.record(journal.SourceFinish, in, r, markerNote(trigger, m))
		return lifecycle.Verdict(state.Proc{}, hostabi.KindShutdown, r.Decision, r.DecidedBy(), 0, now)
	}
	in := lifecycle.ExitInput(now, o.Paths.Name, f, life, st)
	r := o.decide(ctx, in)
	trigger := hostabi.TriggerExited
	if st.Signal != 0 {
		trigger = hostabi.TriggerSignal // run itself was killed: the gateway did not end by itself
	}
	set := func(c state.Change, now time.Time) (state.File, error) { return state.Set(o.Paths.State, c, now) }
	o.persistExit(set, r, lifecycle.ExitRecord(now, led.StartedAt, st, trigger, r.Decision.Action), now)
	o.record(journal.SourceFinish, in, r, nil)
	return lifecycle.Verdict(state.Proc{}, hostabi.KindExit, r.Decision, r.DecidedBy(), 0, now)
}

// isStopSignal reports whether sig is one of the stop signals run handles.
func isStopSignal(sig syscall.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT
}
