// Package runner is the process an s6 slot execs: "supervisor run" wraps
// and supervises one gateway, "supervisor finish" tells s6 whether to
// restart it. See README.md beside this file for the files, the gateway
// contract and the exit codes.
//
// Decisions are made by the policy (package policy) from inputs built here
// by pure functions of facts (this file); the mechanism (exec, signals,
// pipes, timers, files through package state) lives in run.go and
// finish.go and calls them.
//
// It may import hostabi, policy, supervisor, supervisor/config,
// supervisor/profile and supervisor/state; it must not import s6 or cmd.
package runner

import (
	"strings"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// GatewayCommand is the gateway's command line for profile name:
// gateway.command, then gateway.profile_args for a named profile (never for
// the root profile), with {profile} replaced by the name in every argument.
func GatewayCommand(g config.Gateway, name string) []string {
	args := append([]string(nil), g.Command...)
	if name != profile.Root {
		args = append(args, g.ProfileArgs...)
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "{profile}", name)
	}
	return args
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

// Facts are what the supervisor knows when it asks for a decision.
type Facts struct {
	Now       time.Time
	Profile   string
	State     state.File
	History   []hostabi.ExitRecord
	Phase     hostabi.Phase
	StartedAt time.Time // when the gateway started (zero: not started)
}

func (f Facts) input(k hostabi.Kind) hostabi.Input {
	in := hostabi.Input{
		Kind:       k,
		Now:        f.Now,
		Profile:    f.Profile,
		Root:       f.Profile == profile.Root,
		State:      f.State.Gateway(),
		Desired:    f.State.Desired(),
		StateSince: f.State.Since(),
		Phase:      f.Phase,
		History:    f.History,
	}
	if !f.StartedAt.IsZero() && f.Now.After(f.StartedAt) {
		in.Uptime = f.Now.Sub(f.StartedAt)
	}
	if len(in.History) > hostabi.MaxHistory {
		in.History = in.History[len(in.History)-hostabi.MaxHistory:]
	}
	return in
}

// ShutdownInput is the input of the shutdown decision.
func ShutdownInput(f Facts, trigger hostabi.Trigger, sig syscall.Signal) hostabi.Input {
	in := f.input(hostabi.KindShutdown)
	in.Trigger, in.Signal = trigger, int32(sig)
	return in
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

// ExitInput is the input of the exit decision.
func ExitInput(f Facts, e ExitStatus) hostabi.Input {
	in := f.input(hostabi.KindExit)
	in.ExitCode, in.Signal = int32(e.Code), int32(e.Signal)
	return in
}

// Finish exit codes, as s6 reads them.
const (
	FinishRestart  = 0   // s6 restarts the service (if it is wanted up)
	FinishStopGood = 125 // s6 marks the service wanted down: no restart
)

// MaxFinishDelay is the longest restart delay finish applies by sleeping:
// s6 kills a finish script after 5 seconds, and finish may also have to
// reap an orphaned gateway and load the policy. A longer delay is recorded and
// applied by the next "supervisor run" before it starts the gateway.
const MaxFinishDelay = 3 * time.Second

// FinishPlan is what finish does with a verdict: its exit code, how long
// to sleep before exiting, and until when the next start must wait.
type FinishPlan struct {
	Code             int
	Sleep            time.Duration
	RestartNotBefore time.Time
}

// PlanFinish turns a verdict into finish's plan at time now. A shutdown
// that persisted desired_state=stopped (an operator's stop) and an exit
// decision to stop for good exit 125; everything else exits 0, sleeping
// the restart delay when it fits s6's finish timeout and deferring it to the
// next start otherwise.
func PlanFinish(v state.Verdict, now time.Time) FinishPlan {
	switch {
	case v.Kind == hostabi.KindShutdown && v.Desired == hostabi.StateStopped:
		return FinishPlan{Code: FinishStopGood}
	case v.Kind == hostabi.KindExit && v.Action == hostabi.ActionStop:
		return FinishPlan{Code: FinishStopGood}
	}
	d := time.Duration(v.DelayMS) * time.Millisecond
	switch {
	case d <= 0:
		return FinishPlan{Code: FinishRestart}
	case d <= MaxFinishDelay:
		return FinishPlan{Code: FinishRestart, Sleep: d}
	default:
		return FinishPlan{Code: FinishRestart, RestartNotBefore: now.Add(d)}
	}
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
