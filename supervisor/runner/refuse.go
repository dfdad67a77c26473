package runner

import (
	"fmt"
	"log/slog"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// OutcomeNotStarted is the journal's outcome of a life Refuse ended.
const OutcomeNotStarted = "not started"

// Refuse is what "supervisor run" does instead of Run when the profile's
// policy cannot be opened (cause says why): with policy.on_error = "fail",
// a module that cannot be loaded; in any mode, a [policy] table the engine
// cannot take. It starts no gateway, and returns ExitTemporary.
//
// A module that is missing, unreadable, mispinned or malformed does not
// mend itself, so s6 must not retry every second: Refuse records
// gateway_state=startup_failed with the reason, a journal entry saying no
// policy decided, and a verdict that makes "supervisor finish" keep the
// slot down (125) without asking any policy. desired_state is left as it
// is. An operator fixes the module, then `supervisor -p NAME gateway
// start` (or the next container boot) tries again.
func Refuse(o Options, cause error) int {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	now := o.now()
	module := o.Config.Policy.Module
	if module == "" {
		module = "(embedded default)"
	}
	reason := fmt.Sprintf("policy module %s cannot be used: %v", module, cause)
	if o.Config.Policy.OnError == config.OnErrorFail {
		reason = fmt.Sprintf("policy module %s cannot be used and policy.on_error is \"fail\": %v", module, cause)
	}
	o.Logger.Error("runner: not starting the gateway: no policy can decide for it; the slot stays down until `gateway start`",
		"module", module, "on_error", o.Config.Policy.OnError, "err", cause.Error())
	if _, err := state.Set(o.Paths.State, state.Change{Gateway: hostabi.StateStartupFailed, Reason: reason, Undecided: true}, now); err != nil {
		o.Logger.Error("runner: persist state", "err", err)
	}
	d := hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStartupFailed, Reason: reason}
	self, _ := state.Self()
	v := lifecycle.Verdict(self, hostabi.KindExit, d, "", ExitTemporary, now)
	o.handOver(v)
	if err := state.AttachVerdict(o.Paths.Ledger, v); err != nil {
		o.Logger.Error("runner: ledger", "err", err)
	}
	in := lifecycle.ExitInput(now, o.Paths.Name, o.facts(), lifecycle.Life{}, lifecycle.ExitStatus{Code: ExitTemporary})
	e := journal.Entry{Time: now, Profile: o.Paths.Name, Kind: hostabi.KindExit, Source: journal.SourceRun, Input: in,
		Decision: d, Outcome: OutcomeNotStarted, Refused: cause.Error()}
	if err := journal.Append(o.Paths.Journal, e); err != nil {
		o.Logger.Warn("runner: decision journal", "err", err)
	}
	return ExitTemporary
}
