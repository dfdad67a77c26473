// A hermes-supervisor policy. It decides like the default policy; change the
// three functions below, then:
//
//	supervisor policy test .                        # build it and run fixtures/*.toml against it
//	supervisor policy build . --write policy.wasm   # compile to a module
//
// Every input field and every decision field is described in the package doc
// of hostabi (.hermes-sdk/hostabi/doc.go). A decision function must be pure:
// everything it may use, the time included, is in its input.
package main

import (
	"strconv"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/hostabi/guest"
)

func main() {}

// The parameters the policy reads from [policy.params], with their
// defaults: declared below, "supervisor config check" warns about any other
// key, and "supervisor policy inspect" lists them.
var multiplexProfiles = guest.Bool("multiplex_profiles", false)

func init() {
	// A nil function leaves that decision to the supervisor's built-in
	// default; "supervisor policy test" then checks the default's answer
	// and says so.
	guest.Register(guest.Policy{Name: "my-policy", Version: "0.1.0", Boot: boot, Shutdown: shutdown, Exit: exit,
		Params: []guest.Param{multiplexProfiles}})
}

// boot decides, at container boot, whether a profile's gateway starts:
// only when its persisted intent is running (draining and degraded count as
// running; desired_state, when recorded, wins over gateway_state).
func boot(in *hostabi.Input) hostabi.Decision {
	if !in.Root && multiplexProfiles.From(in) {
		return hostabi.Decision{Action: hostabi.ActionDown, Reason: "multiplex_profiles keeps named profiles down"}
	}
	intent, reason := in.State, "state "+in.State.String()
	if in.Desired != hostabi.StateNone {
		intent, reason = in.Desired, "desired "+in.Desired.String()
	}
	switch intent {
	case hostabi.StateNone:
		reason = "no state"
	case hostabi.StateUnreadable:
		reason = "state unreadable"
	}
	switch intent {
	case hostabi.StateRunning, hostabi.StateDraining, hostabi.StateDegraded:
		return hostabi.Decision{Action: hostabi.ActionStart, Reason: reason}
	}
	return hostabi.Decision{Action: hostabi.ActionDown, Reason: reason}
}

// shutdown decides what a stop signal persists and how "supervisor run" exits.
func shutdown(in *hostabi.Input) hostabi.Decision {
	switch in.Trigger {
	case hostabi.TriggerOperator:
		return hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateStopped, Reason: "operator stop"}
	case hostabi.TriggerRestart:
		return hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateRunning, Reason: "restart requested"}
	}
	// A container restart, an OOM kill, a bare kill: come back at next boot.
	return hostabi.Decision{State: hostabi.StateRunning, ExitCode: 1, Reason: "signal without marker: revive at boot"}
}

// exit decides, when the gateway ended by itself, whether it restarts.
func exit(in *hostabi.Input) hostabi.Decision {
	switch {
	case in.Signal != 0:
		return hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning,
			Reason: "killed by signal " + strconv.Itoa(int(in.Signal)) + ": restart"}
	case in.ExitCode == 0:
		return hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped, Reason: "exited 0: done"}
	case in.ExitCode == 78: // EX_CONFIG: restarting cannot fix the configuration
		return hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped, Reason: "exited 78 (EX_CONFIG): configuration error"}
	}
	return hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning,
		Reason: "exited " + strconv.Itoa(int(in.ExitCode)) + ": restart"}
}
