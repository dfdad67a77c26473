// Package fallback is the default policy written natively in Go: the
// decisions the supervisor makes when a policy module fails (traps, times
// out, answers something malformed, or is missing), and the reference the
// embedded default module is tested against, answer for answer.
//
// Every function here is pure: the answer depends on the input alone (the
// input carries the time). It imports nothing but hostabi and the standard
// library, and must never touch a file, a process or the clock.
package fallback

import (
	"strconv"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Name and Version identify the native fallback in logs and the boot log.
const (
	Name    = "fallback"
	Version = "1.1.0"
)

// ParamMultiplex is the policy parameter that keeps named profiles down (one
// gateway, the root profile's, serves them all).
const ParamMultiplex = "multiplex_profiles"

// ExitConfig is EX_CONFIG from sysexits.h: the gateway refuses its
// configuration, so restarting it cannot help.
const ExitConfig = 78

// Reasons the default policy gives. The embedded default module returns the
// very same strings; the differential test holds both to it.
const (
	ReasonMultiplex     = "multiplex_profiles keeps named profiles down"
	ReasonNoState       = "no state"
	ReasonUnreadable    = "state unreadable"
	ReasonBootstrap     = "first boot: bootstrap_state running seeds running"
	ReasonLegacy        = "legacy gateway run command: seeds running"
	ReasonOperatorStop  = "operator stop"
	ReasonRestart       = "restart requested"
	ReasonSignal        = "signal without marker: revive at boot"
	ReasonExitedClean   = "exited 0: done"
	ReasonExitedConfig  = "exited 78 (EX_CONFIG): configuration error"
	reasonDesiredPrefix = "desired "
	reasonStatePrefix   = "state "
)

// BootstrapRunning is the one value of the bootstrap_state parameter that
// seeds a state (upstream's image hook compares it literally).
const BootstrapRunning = "running"

// Decide answers a decision of any kind.
func Decide(in *hostabi.Input) hostabi.Decision {
	switch in.Kind {
	case hostabi.KindBoot:
		return Boot(in)
	case hostabi.KindShutdown:
		return Shutdown(in)
	default:
		return Exit(in)
	}
}

// Boot decides at container boot, as upstream's reconciler and image do:
//
//   - The root profile with no state file at all is seeded (ABI 1.1), as
//     upstream's image does before its reconciler runs: first boot
//     (bootstrap_state "running", from HERMES_GATEWAY_BOOTSTRAP_STATE,
//     upstream #37896) seeds gateway_state running; else a container
//     running the legacy "gateway run" command (upstream #34339, #35341)
//     seeds gateway_state and desired_state running. Either starts it.
//   - multiplex_profiles keeps named profiles down.
//   - desired_state, when recorded (any value, "" included), decides alone:
//     only running starts.
//   - Else gateway_state decides: running starts, and so do draining and
//     degraded (phases of a running gateway, caught by a kill).
//   - Nothing else starts: starting, startup_failed, stopped, no state, an
//     unreadable file, a value the ABI does not name.
func Boot(in *hostabi.Input) hostabi.Decision {
	if in.Root && in.NoStateFile {
		if in.Params.String(hostabi.ParamBootstrapState, "") == BootstrapRunning {
			return hostabi.Decision{Action: hostabi.ActionStart, State: hostabi.StateRunning, Reason: ReasonBootstrap}
		}
		if in.LegacyCommand {
			return hostabi.Decision{Action: hostabi.ActionStart, State: hostabi.StateRunning, Desired: hostabi.StateRunning, Reason: ReasonLegacy}
		}
	}
	if !in.Root && in.Params.Bool(ParamMultiplex, false) {
		return hostabi.Decision{Action: hostabi.ActionDown, Reason: ReasonMultiplex}
	}
	intent, reason := in.State, reasonStatePrefix+in.State.String()
	if in.Desired != hostabi.StateNone {
		intent, reason = in.Desired, reasonDesiredPrefix+in.Desired.String()
	}
	switch intent {
	case hostabi.StateNone:
		reason = ReasonNoState
	case hostabi.StateUnreadable:
		reason = ReasonUnreadable
	}
	start := intent == hostabi.StateRunning
	if in.Desired == hostabi.StateNone {
		start = autostart(intent)
	}
	if start {
		return hostabi.Decision{Action: hostabi.ActionStart, Reason: reason}
	}
	return hostabi.Decision{Action: hostabi.ActionDown, Reason: reason}
}

// autostart reports whether a gateway_state means "bring it back": running,
// and draining and degraded, phases of a running gateway caught by a kill.
func autostart(s hostabi.State) bool {
	return s == hostabi.StateRunning || s == hostabi.StateDraining || s == hostabi.StateDegraded
}

// Shutdown decides what a stop signal persists: an operator's stop records
// stopped and exits 0; a restart records stopped but keeps the desired state
// running and exits 0; any other signal (container restart, OOM, bare kill)
// records running and exits 1, so the next boot revives the gateway.
func Shutdown(in *hostabi.Input) hostabi.Decision {
	switch in.Trigger {
	case hostabi.TriggerOperator:
		return hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateStopped, ExitCode: 0, Reason: ReasonOperatorStop}
	case hostabi.TriggerRestart:
		return hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateRunning, ExitCode: 0, Reason: ReasonRestart}
	default:
		return hostabi.Decision{State: hostabi.StateRunning, ExitCode: 1, Reason: ReasonSignal}
	}
}

// Exit decides when the gateway ended by itself: exit 0 and 78 (EX_CONFIG)
// stop for good; anything else restarts at once.
func Exit(in *hostabi.Input) hostabi.Decision {
	switch {
	case in.Signal == 0 && in.ExitCode == 0:
		return hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped, Reason: ReasonExitedClean}
	case in.Signal == 0 && in.ExitCode == ExitConfig:
		return hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped, Reason: ReasonExitedConfig}
	case in.Signal != 0:
		return hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning,
			Reason: "killed by signal " + strconv.Itoa(int(in.Signal)) + ": restart"}
	default:
		return hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning,
			Reason: "exited " + strconv.Itoa(int(in.ExitCode)) + ": restart"}
	}
}
