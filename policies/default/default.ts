// The default policy: the decisions of DESIGN.md section 6, answer for answer
// the same as the native fallback (policy/fallback), reasons included.
import {
  Input, Decision, State, Trigger, policy, stateName, start, down, persist, restart, stop,
} from "../sdk/assemblyscript";
export { hermes_abi_version, hermes_metadata, hermes_alloc, hermes_decide } from "../sdk/assemblyscript";

// EX_CONFIG from sysexits.h: restarting cannot help a configuration error.
const EXIT_CONFIG: i32 = 78;

// Boot: start only a profile whose persisted intent is running (draining and
// degraded read as running); desired_state, when recorded, wins over
// gateway_state; multiplex_profiles keeps named profiles down.
function boot(input: Input): Decision {
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
  if (intent == State.Running || intent == State.Draining || intent == State.Degraded) {
    return start(reason);
  }
  return down(reason);
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

policy("default", "1.0.0", boot, shutdown, exit);
