package runner

import (
	"context"
	"log/slog"
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
// When run recorded a verdict for this very life (same exit code, no
// signal, written moments ago), finish follows it. Otherwise run did not
// reach a clean exit path (it was SIGKILLed): finish stops a gateway the
// dead run left behind, asks the policy's exit decision with what s6
// reports, records it in the exit history, and follows it; the lifecycle
// ledger keeps phase=running, so the next boot reads prior_exit=unclean.
//
// A restart delay of at most MaxFinishDelay is slept here; a longer one is
// recorded in the ledger and served by the next run before it starts the
// gateway.
func Finish(ctx context.Context, o Options, code, sig int) int {
	survivePipes()
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	now := o.now()
	v, ok, err := state.TakeVerdict(o.Paths.Verdict)
	if err != nil {
		o.Logger.Warn("finish: verdict", "err", err)
	}
	if !ok || !v.Matches(code, sig, now) {
		if ok {
			o.Logger.Info("finish: the recorded verdict belongs to another life; deciding afresh", "verdict_exit", v.RunExit, "exit", code, "signal", sig)
		}
		v = decideWithoutVerdict(ctx, &o, lifecycle.FromS6(code, sig), now)
	}
	p := lifecycle.PlanFinish(v, now)
	if !p.RestartNotBefore.IsZero() {
		if err := state.DeferRestart(o.Paths.Ledger, p.RestartNotBefore); err != nil {
			o.Logger.Error("finish: record the restart delay", "err", err)
		}
	}
	o.Logger.Info("finish: decided", "exit", p.Code, "sleep", p.Sleep.String(), "reason", v.Reason, "policy", v.Policy)
	if p.Sleep > 0 {
		select {
		case <-time.After(p.Sleep):
		case <-ctx.Done():
		}
	}
	return p.Code
}

func decideWithoutVerdict(ctx context.Context, o *Options, st lifecycle.ExitStatus, now time.Time) state.Verdict {
	led, ok, _ := state.ReadLedger(o.Paths.Ledger)
	if ok && led.Phase == state.PhaseRunning {
		reapLeftover(o.Logger, led.Gateway, finishReapGrace)
	}
	in := lifecycle.ExitInput(now, o.Paths.Name, o.facts(), lifecycle.Life{StartedAt: led.StartedAt}, st)
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
