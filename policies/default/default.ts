// The default policy: the decisions of DESIGN.md section 6, answer for answer
// the same as the native fallback (policy/fallback), reasons included.
import {
  Input, Decision, State, Trigger, Action, policy, stateName, start, down, seed, persist, restart, stop,
} from "../sdk/assemblyscript";
export { hermes_abi_version, hermes_metadata, hermes_alloc, hermes_decide } from "../sdk/assemblyscript";

// EX_CONFIG from sysexits.h: restarting cannot help a configuration error.
const EXIT_CONFIG: i32 = 78;

// Boot, as upstream's reconciler and image decide: the root profile with
// no state file at all is seeded and started on first boot
// (bootstrap_state "running") or under the legacy "gateway run" command;
// multiplex_profiles keeps named profiles down; a recorded desired_state
// (any value) decides alone, and only running starts; else gateway_state
// running, draining or degraded starts.
function boot(input: Input): Decision {
  if (input.root && input.noStateFile) {
    if (input.paramString("bootstrap_state", "") == "running") {
      return seed(Action.Start, State.Running, State.None, "first boot: bootstrap_state running seeds running");
    }
    if (input.legacyCommand) {
      return seed(Action.Start, State.Running, State.Running, "legacy gateway run command: seeds running");
    }
  }
  if (!input.root && input.paramBool("multiplex_profiles", false)) {
    return down("multiplex_profiles keeps named profiles down");
  }
  let intent = input.state;
  let reason = "state " + stateName(intent);
  if (input.desired != State.None) {
    intent = input.desired;
    reason = "desired " + stateName(intent);
  }
  if (intent == State.None) reason = "no state";
  else if (intent == State.Unreadable) reason = "state unreadable";
  let run = intent == State.Running;
  if (input.desired == State.None) run = run || intent == State.Draining || intent == State.Degraded;
  return run ? start(reason) : down(reason);
}

// Shutdown: an operator's stop persists stopped and exits 0; a restart
// persists stopped, keeps desired running and exits 0; any other signal
// persists running and exits 1 so that the next boot revives the gateway.
function shutdown(input: Input): Decision {
  if (input.trigger == Trigger.Operator) {
    return persist(State.Stopped, State.Stopped, 0, "operator stop");
  }
  if (input.trigger == Trigger.Restart) {
    return persist(State.Stopped, State.Running, 0, "restart requested");
  }
  return persist(State.Running, State.None, 1, "signal without marker: revive at boot");
}

// Exit: 0 and 78 (EX_CONFIG) stop for good; anything else restarts at once.
function exit(input: Input): Decision {
  if (input.signal == 0 && input.exitCode == 0) {
    return stop(State.Stopped, "exited 0: done");
  }
  if (input.signal == 0 && input.exitCode == EXIT_CONFIG) {
    return stop(State.Stopped, "exited 78 (EX_CONFIG): configuration error");
  }
  if (input.signal != 0) {
    return restart(0, State.Running, "killed by signal " + input.signal.toString() + ": restart");
  }
  return restart(0, State.Running, "exited " + input.exitCode.toString() + ": restart");
}

// The parameters it reads: multiplex_profiles from [policy.params] (or
// GATEWAY_MULTIPLEX_PROFILES at boot), bootstrap_state set by the host at boot.
policy("default", "1.1.0", boot, shutdown, exit, "multiplex_profiles:bool:false,bootstrap_state:string:");
