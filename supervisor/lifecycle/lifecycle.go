// Package lifecycle is the decision path of a gateway's life, as pure
// functions: from the facts the volume remembers (state.Facts) and what
// the supervisor of a life knows (Life) to the policy's input
// (BootInput, ShutdownInput, ExitInput); from the policy's answer to what
// is persisted (ShutdownChange, ExitChange, ExitRecord, Verdict) and what
// s6 is told (FinishCode, RestartNotBefore); and from a stop no supervisor decided to the
// state it leaves (SettleStop).
//
// Nothing here reads a clock, a file or a process: time is an argument,
// facts are values. Boot (supervisor/boot), the runtime (supervisor/runner)
// and the operator commands (supervisor/ops) do the mechanism and call
// these, so the whole path reads in this one file:
//
//	boot:     state.ReadFacts -> BootInput (PriorExit, LegacyCommand) -> policy
//	          -> BootSeed (persisted) -> slot up | down | none; PriorState logged
//	run:      stop signal -> TriggerOf(marker) -> ShutdownInput -> policy
//	          -> ShutdownChange (durable) -> signal the gateway -> gateway gone
//	          -> Reapply (what its last write undid) -> ExitRecord -> Verdict
//	          -> exit code
//	          gateway exits -> ExitInput -> policy -> ExitChange -> ExitRecord -> Verdict
//	finish:   Verdict -> FinishCode -> exit 0 (restart) | 125 (stay down)
//	ops stop: nobody decided -> SettleStop
//
// It may import hostabi, supervisor/profile and supervisor/state (for
// their types); never policy, s6, boot, runner, ops or cmd.
package lifecycle

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// Life is what the supervisor of a gateway life knows beyond the volume.
type Life struct {
	Phase     hostabi.Phase // the gateway's phase; PhaseNone when no gateway runs
	StartedAt time.Time     // when the gateway started; zero when it did not
}

// input is the part every decision's input shares.
func input(k hostabi.Kind, now time.Time, name string, f state.Facts, l Life) hostabi.Input {
	in := hostabi.Input{
		Kind:       k,
		Now:        now,
		Profile:    name,
		Root:       name == profile.Root,
		State:      f.State.Gateway(),
		Desired:    f.State.Desired(),
		StateSince: f.State.Since(),
		Phase:      l.Phase,
		History:    f.History,
	}
	if !l.StartedAt.IsZero() && now.After(l.StartedAt) {
		in.Uptime = now.Sub(l.StartedAt)
	}
	if len(in.History) > hostabi.MaxHistory {
		in.History = in.History[len(in.History)-hostabi.MaxHistory:]
	}
	return in
}

// Container is what boot knows of the container as a whole, beyond the
// volume: its inputs to every profile's boot decision.
type Container struct {
	// LegacyCommand: the container runs the legacy "gateway run" command
	// (LegacyCommand reads it from a container's argv).
	LegacyCommand bool
	// Params are the parameters the policy is handed, host-set ones
	// included (hostabi.ParamBootstrapState); nil: the engine's own.
	Params hostabi.Params
}

// BootInput is the input of the boot decision of profile name at time now.
func BootInput(now time.Time, name string, f state.Facts, c Container) hostabi.Input {
	in := input(hostabi.KindBoot, now, name, f, Life{})
	in.PriorExit = PriorExit(f)
	in.NoStateFile = f.StateAbsent
	in.LegacyCommand = c.LegacyCommand
	in.Params = c.Params
	return in
}

// PriorExit is how the last gateway life of a profile ended, as boot sees
// it, in this order:
//
//   - unclean when the exit history's last record is the policy giving up
//     on a gateway that failed (it exited non-zero or was killed, and the
//     exit decision was to stop for good: a crash loop, or a configuration
//     error);
//   - else, when the gateway keeps a ledger of its own
//     (state/gateway.lifecycle.json, newer hermes releases), its phase, as
//     upstream's reconciler reads it: exited is clean, running unclean,
//     anything else (no phase, another value, a file that cannot be read)
//     unknown;
//   - else the supervisor's own ledger: exited is clean, running unclean
//     (the supervisor or the machine died mid-life);
//   - else unknown.
func PriorExit(f state.Facts) hostabi.PriorExit {
	if n := len(f.History); n > 0 && GaveUp(f.History[n-1]) {
		return hostabi.PriorExitUnclean
	}
	if g := f.GatewayLedger; g.Present {
		return phaseExit(g.Phase)
	}
	if f.LedgerOK {
		return phaseExit(f.Ledger.Phase)
	}
	return hostabi.PriorExitUnknown
}

// GaveUp reports whether r records the policy giving up on a gateway that
// failed: it ended by itself, not cleanly (a non-zero code or a signal),
// and the exit decision was to stop for good.
func GaveUp(r hostabi.ExitRecord) bool {
	return r.Trigger == hostabi.TriggerExited && r.Verdict == hostabi.ActionStop && (r.ExitCode != 0 || r.Signal != 0)
}

func phaseExit(phase string) hostabi.PriorExit {
	switch phase {
	case state.PhaseExited:
		return hostabi.PriorExitClean
	case state.PhaseRunning:
		return hostabi.PriorExitUnclean
	}
	return hostabi.PriorExitUnknown
}

// PriorState is the boot log's prior_state: the intent that decided, as
// upstream's reconciler logs it. desired_state when it is recorded (its
// value as found, "" included); else gateway_state, draining and degraded
// logged as running (they read as running); "none" when there is neither,
// or the file cannot be read (the boot-log line's reason then says "state
// unreadable"). When the boot decision seeded the state (seed, ok), the
// seeded intent is logged, as upstream logs the state its migration wrote.
//
// The value is raw: a caller writing it into a line quotes it (QuoteLog).
func PriorState(f state.File, seed state.Change, seeded bool) string {
	if seeded {
		if seed.Desired != hostabi.StateNone {
			return seed.Desired.String()
		}
		return runningFamily(seed.Gateway.String())
	}
	switch {
	case f.Unreadable:
		return "none"
	case f.DesiredSet():
		return f.DesiredState
	case f.GatewaySet():
		return runningFamily(f.GatewayState)
	}
	return "none"
}

func runningFamily(s string) string {
	if s == "draining" || s == "degraded" {
		return "running"
	}
	return s
}

// QuoteLog is v as a boot-log value: bare when it is a plain token (ASCII
// letters, digits, '_', '-', '.', '@'), Go-quoted otherwise (an empty
// value, a space, a quote, a newline, a non-ASCII byte), so that a line
// never breaks and always parses. "none" quoted is a recorded "none", not
// the absence of a state.
func QuoteLog(v string, reserved ...string) string {
	plain := v != ""
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '@'
	}
	for _, r := range reserved {
		if v == r {
			plain = false
		}
	}
	if plain {
		return v
	}
	return strconv.Quote(v)
}

// BootSeed is what a boot decision d, made by the policy named decidedBy,
// seeds in the profile's state file before its slot is published (ABI 1.1:
// the default policy's first boot and legacy migration); ok is false when
// it seeds nothing.
func BootSeed(d hostabi.Decision, decidedBy string) (c state.Change, ok bool) {
	if d.State == hostabi.StateNone && d.Desired == hostabi.StateNone {
		return state.Change{}, false
	}
	return state.Change{Gateway: d.State, Desired: d.Desired, Reason: d.Reason, Policy: decidedBy, Trigger: TriggerBoot}, true
}

// TriggerBoot is the trigger recorded with a state the boot decision seeded.
const TriggerBoot = "boot"

// LegacyCommand reports whether a container's argv (its main program's,
// see hostabi.Input.LegacyCommand) is the legacy "gateway run" command, by
// upstream's rule: everything through the word ending in "main-wrapper.sh"
// is dropped (else a leading "init"), then a leading "hermes"; the rest
// must start with "gateway run" and hold no "--no-supervise". noSupervise
// is HERMES_GATEWAY_NO_SUPERVISE: 1, true or yes (any case) turns the
// migration off.
func LegacyCommand(argv []string, noSupervise string) bool {
	switch strings.ToLower(noSupervise) {
	case "1", "true", "yes":
		return false
	}
	args := argv
	wrapper := -1
	for i, a := range args {
		if strings.HasSuffix(a, "main-wrapper.sh") {
			wrapper = i
			break
		}
	}
	switch {
	case wrapper >= 0:
		args = args[wrapper+1:]
	case len(args) > 0 && path.Base(args[0]) == "init":
		args = args[1:]
	}
	if len(args) > 0 && path.Base(args[0]) == "hermes" {
		args = args[1:]
	}
	if slices.Contains(args, "--no-supervise") {
		return false
	}
	return len(args) >= 2 && args[0] == "gateway" && args[1] == "run"
}

// ShutdownInput is the input of the shutdown decision: a stop signal sig
// arrived, classified as trigger.
func ShutdownInput(now time.Time, name string, f state.Facts, l Life, trigger hostabi.Trigger, sig syscall.Signal) hostabi.Input {
	in := input(hostabi.KindShutdown, now, name, f, l)
	in.Trigger, in.Signal = trigger, int32(sig)
	return in
}

// ExitInput is the input of the exit decision: the gateway ended as st.
func ExitInput(now time.Time, name string, f state.Facts, l Life, st ExitStatus) hostabi.Input {
	in := input(hostabi.KindExit, now, name, f, l)
	in.ExitCode, in.Signal = int32(st.Code), int32(st.Signal)
	return in
}

// TriggerOf classifies a stop signal by what the planned-stop marker said:
// an honoured marker is the operator's stop or restart; anything else
// (no marker, another process's, expired, future, malformed) is a plain
// signal.
func TriggerOf(j state.Judgement, m state.Marker) hostabi.Trigger {
	if j != state.MarkerHonoured {
		return hostabi.TriggerSignal
	}
	if m.Intent == state.IntentRestart {
		return hostabi.TriggerRestart
	}
	return hostabi.TriggerOperator
}

// ShutdownChange is what a shutdown decision d, made by the policy named
// decidedBy for a stop classified as trigger, persists.
func ShutdownChange(d hostabi.Decision, decidedBy string, trigger hostabi.Trigger) state.Change {
	code := int(d.ExitCode)
	return state.Change{Gateway: d.State, Desired: d.Desired, ExitCode: &code, Reason: d.Reason, Policy: decidedBy, Trigger: trigger.String()}
}

// Reapply is what "supervisor run" writes again once the gateway it
// stopped is gone, given the shutdown decision's change decided, the
// desired_state the file said when the decision was made (before), and the
// file as the gateway left it (now); ok is false when nothing needs
// writing.
//
// The hermes gateway rewrites gateway_state.json on its way out, after the
// decision is durable: draining, then its own terminal state ("running"
// after a signal it was not told was planned, as an operator's stop is to
// it: the marker names "supervisor run"). gateway_state is then written
// again when it differs from the decided one. desired_state is written
// again only when the file is back to what it said before the decision (a
// gateway's read-modify-write, which takes no lock, lost the decision's
// write); any other value was written after the decision by someone else
// (an operator's start) and is left alone. The gateway keeps every key it
// does not own, so the decision's record (reason, policy, trigger, exit
// code) is written again with it.
func Reapply(decided state.Change, before hostabi.State, now state.File) (c state.Change, ok bool) {
	stateUndone := decided.Gateway != hostabi.StateNone && now.Gateway() != decided.Gateway
	desiredLost := decided.Desired != hostabi.StateNone && now.Desired() != decided.Desired && now.Desired() == before
	if !stateUndone && !desiredLost {
		return state.Change{}, false
	}
	c = decided
	if !desiredLost {
		c.Desired = hostabi.StateNone
	}
	return c, true
}

// StopOfThisLife reports whether the life led records a stop its run
// decided (and made durable before recording it), with its trigger:
// "supervisor finish" then follows the decision on disk, because run
// decided the stop and died before its clean exit path (stage 3's
// SIGKILL, say), and an exit decision must not overwrite it.
func StopOfThisLife(led state.Ledger) (hostabi.Trigger, bool) {
	if led.Phase != state.PhaseRunning || led.Stopping == nil {
		return hostabi.TriggerNone, false
	}
	var t hostabi.Trigger
	if t.UnmarshalText([]byte(led.Stopping.Trigger)) != nil {
		return hostabi.TriggerNone, false
	}
	switch t {
	case hostabi.TriggerSignal, hostabi.TriggerOperator, hostabi.TriggerRestart:
		return t, true
	}
	return hostabi.TriggerNone, false
}

// ExitChange is what an exit decision d, made by the policy named
// decidedBy, persists; ok is false when it persists nothing (the policy
// named neither state).
func ExitChange(d hostabi.Decision, decidedBy string) (c state.Change, ok bool) {
	if d.State == hostabi.StateNone && d.Desired == hostabi.StateNone {
		return state.Change{}, false
	}
	return state.Change{Gateway: d.State, Desired: d.Desired, Reason: d.Reason, Policy: decidedBy, Trigger: hostabi.TriggerExited.String()}, true
}

// ExitRecord is the exit history's record of a life that started at
// startedAt (zero: unknown) and ended as st at time now, because of
// trigger, with verdict (ActionNone for a shutdown: the shutdown decision
// is not a verdict on the exit).
func ExitRecord(now, startedAt time.Time, st ExitStatus, trigger hostabi.Trigger, verdict hostabi.Action) hostabi.ExitRecord {
	r := hostabi.ExitRecord{Time: now, ExitCode: int32(st.Code), Signal: int32(st.Signal), Trigger: trigger, Verdict: verdict}
	if !startedAt.IsZero() && now.After(startedAt) {
		r.Uptime = now.Sub(startedAt)
	}
	return r
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int            // -1 when killed by a signal
	Signal syscall.Signal // 0 when it exited by itself
}

// FromS6 reads the two arguments s6 passes to finish: an exit code (256
// when the process was killed by a signal) and the signal number.
func FromS6(code, sig int) ExitStatus {
	if code == 256 || code < 0 || sig != 0 {
		return ExitStatus{Code: -1, Signal: syscall.Signal(sig)}
	}
	return ExitStatus{Code: code}
}

// RunExitCode is the code "supervisor run" leaves with after the gateway
// ended by itself: the gateway's own code, or 128+signal.
func (e ExitStatus) RunExitCode() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Code
}

// Verdict is what "supervisor run" (supervisor, when known) hands to
// "supervisor finish" after a decision of kind k (shutdown or exit), made
// by the policy named decidedBy, when it leaves with code at time now.
func Verdict(supervisor state.Proc, k hostabi.Kind, d hostabi.Decision, decidedBy string, code int, now time.Time) state.Verdict {
	return state.Verdict{Supervisor: supervisor, RunExit: code, Kind: k, Action: d.Action, Desired: d.Desired,
		DelayMS: d.Delay.Milliseconds(), Reason: d.Reason, Policy: decidedBy, WrittenAt: now}
}

// Finish exit codes, as s6 reads them.
const (
	FinishRestart  = 0   // s6 restarts the service (if it is wanted up)
	FinishStopGood = 125 // s6 marks the service wanted down: no restart
)

// FinishCode is what "supervisor finish" exits with after verdict v:
// FinishStopGood (s6 keeps the slot down) after a shutdown that persisted
// desired_state=stopped (an operator's stop) or an exit decision to stop
// for good; FinishRestart (s6 restarts it, if wanted up) otherwise. A
// restart delay is never slept in finish: see RestartNotBefore.
func FinishCode(v state.Verdict) int {
	switch {
	case v.Kind == hostabi.KindShutdown && v.Desired == hostabi.StateStopped:
		return FinishStopGood
	case v.Kind == hostabi.KindExit && v.Action == hostabi.ActionStop:
		return FinishStopGood
	}
	return FinishRestart
}

// RestartNotBefore is when the next life may start its gateway after
// verdict v: the restart delay the exit decision asked for, served by the
// next "supervisor run" before it starts the gateway (s6 starts run again
// at once); zero for none.
func RestartNotBefore(v state.Verdict) time.Time {
	if v.Kind != hostabi.KindExit || v.Action == hostabi.ActionStop || v.DelayMS <= 0 {
		return time.Time{}
	}
	return v.WrittenAt.Add(time.Duration(v.DelayMS) * time.Millisecond)
}

// ReasonStopBetweenLives is the reason recorded when an operator's stop
// found no supervisor to decide it.
const ReasonStopBetweenLives = "operator stop: no gateway was running to decide it"

// SettleStop is what an operator's stop that no "supervisor run" decided
// records, given the state file f as it is once s6 keeps the slot down.
// That happens when the stop arrives between two lives (the finish had
// decided to restart, and its "running" is on the volume) or when the
// gateway exits on its own before the marker is honoured: a "running"
// left there would be false, so it becomes "stopped", with no policy and
// no exit code. ok is false when f needs nothing: a start or restart came
// after the stop (desired_state is no longer stopped: that life records
// itself), or the state is not one of the running family.
func SettleStop(f state.File) (c state.Change, ok bool) {
	if f.Desired() != hostabi.StateStopped {
		return state.Change{}, false
	}
	switch f.Gateway() {
	case hostabi.StateStarting, hostabi.StateRunning, hostabi.StateDraining, hostabi.StateDegraded:
	default:
		return state.Change{}, false
	}
	return state.Change{Gateway: hostabi.StateStopped, Reason: ReasonStopBetweenLives, Trigger: hostabi.TriggerOperator.String(), Undecided: true}, true
}

// ParsePhase reads a phase report from the gateway's notification channel:
// "ready", or "phase=" followed by running, degraded, draining or starting.
// ok is false for anything else (the line is ignored and logged).
func ParsePhase(line string) (p hostabi.Phase, ready, ok bool) {
	line = strings.TrimSpace(line)
	if line == "ready" {
		return hostabi.PhaseRunning, true, true
	}
	v, found := strings.CutPrefix(line, "phase=")
	if !found {
		return 0, false, false
	}
	switch v {
	case "running":
		return hostabi.PhaseRunning, true, true
	case "degraded":
		return hostabi.PhaseDegraded, false, true
	case "draining":
		return hostabi.PhaseDraining, false, true
	case "starting":
		return hostabi.PhaseStarting, false, true
	}
	return 0, false, false
}

// PhaseState is the gateway_state persisted for a phase.
func PhaseState(p hostabi.Phase) hostabi.State {
	switch p {
	case hostabi.PhaseStarting:
		return hostabi.StateStarting
	case hostabi.PhaseDegraded:
		return hostabi.StateDegraded
	case hostabi.PhaseDraining:
		return hostabi.StateDraining
	}
	return hostabi.StateRunning
}
