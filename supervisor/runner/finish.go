package runner

import (
	"context"
	"log/slog"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
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
	if o.Log == nil {
		o.Log = slog.Default()
	}
	now := o.now()
	v, ok, err := state.TakeVerdict(o.Paths.Verdict)
	if err != nil {
		o.Log.Warn("finish: verdict", "err", err)
	}
	if !ok || !v.Matches(code, sig, now) {
		if ok {
			o.Log.Info("finish: the recorded verdict belongs to another life; deciding afresh", "verdict_exit", v.RunExit, "exit", code, "signal", sig)
		}
		v = decideWithoutVerdict(ctx, &o, FromS6(code, sig), now)
	}
	p := PlanFinish(v, now)
	if !p.RestartNotBefore.IsZero() {
		if err := state.DeferRestart(o.Paths.Lifecycle, p.RestartNotBefore); err != nil {
			o.Log.Error("finish: record the restart delay", "err", err)
		}
	}
	o.Log.Info("finish: decided", "exit", p.Code, "sleep", p.Sleep.String(), "reason", v.Reason, "policy", v.Policy)
	if p.Sleep > 0 {
		select {
		case <-time.After(p.Sleep):
		case <-ctx.Done():
		}
	}
	return p.Code
}

func decideWithoutVerdict(ctx context.Context, o *Options, st ExitStatus, now time.Time) state.Verdict {
	led, ok, _ := state.ReadLedger(o.Paths.Lifecycle)
	if ok && led.Phase == state.PhaseRunning {
		reapLeftover(o.Log, led.Gateway, finishReapGrace)
	}
	f, err := state.Read(o.Paths.State)
	if err != nil {
		o.Log.Warn("finish: state unreadable", "err", err)
	}
	h, err := state.ReadHistory(o.Paths.History)
	if err != nil {
		o.Log.Warn("finish: exit history unreadable", "err", err)
	}
	facts := Facts{Now: now, Profile: o.Paths.Name, State: f, History: h, Phase: hostabi.PhaseNone, StartedAt: led.StartedAt}
	in := ExitInput(facts, st)
	r := o.decide(ctx, in)
	d := r.Decision
	if d.State != hostabi.StateNone || d.Desired != hostabi.StateNone {
		if _, err := state.Set(o.Paths.State, state.Change{Gateway: d.State, Desired: d.Desired, Reason: d.Reason, Policy: r.DecidedBy(),
			Trigger: hostabi.TriggerExited.String()}, now); err != nil {
			o.Log.Error("finish: persist the exit decision", "err", err)
		}
	}
	o.record(journal.SourceFinish, in, r, nil)
	trig := hostabi.TriggerExited
	if st.Signal != 0 {
		trig = hostabi.TriggerSignal
	}
	rec := hostabi.ExitRecord{Time: now, ExitCode: int32(st.Code), Signal: int32(st.Signal), Trigger: trig, Verdict: d.Action}
	if !led.StartedAt.IsZero() {
		rec.Uptime = now.Sub(led.StartedAt)
	}
	if err := state.AppendHistory(o.Paths.History, rec); err != nil {
		o.Log.Error("finish: exit history", "err", err)
	}
	return state.Verdict{Kind: hostabi.KindExit, Action: d.Action, Desired: d.Desired, DelayMS: d.Delay.Milliseconds(),
		Reason: d.Reason, Policy: r.DecidedBy(), WrittenAt: now}
}
