// A hermes-supervisor policy in AssemblyScript. It decides like the default
// policy; change the three functions below, then:
//
//   npm ci                                     # once: the pinned compiler, into node_modules
//   supervisor policy test .                   # build it and run fixtures/*.toml against it
//   supervisor policy build . --write policy.wasm
//
// Every input field and every decision field is described in the SDK
// (.hermes-sdk/assemblyscript/index.ts) and in hostabi/doc.go of
// hermes-supervisor. A decision function must be pure: everything it may
// use, the time included, is in its input. Keep no heap objects in
// top-level variables: the SDK releases a decision's memory at the next.
import {
  Input, Decision, State, Trigger, policy, stateName, start, down, persist, restart, stop,
} from "./.hermes-sdk/assemblyscript";
export { hermes_abi_version, hermes_metadata, hermes_alloc, hermes_decide } from "./.hermes-sdk/assemblyscript";

// EX_CONFIG from sysexits.h: restarting cannot fix the configuration.
const EXIT_CONFIG: i32 = 78;

// boot decides, at container boot, whether a profile's gateway starts:
// only when its persisted intent is running (draining and degraded count as
// running; desired_state, when recorded, wins over gateway_state).
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

// shutdown decides what a stop signal persists and how "supervisor run" exits.
function shutdown(input: Input): Decision {
  if (input.trigger == Trigger.Operator) {
    return persist(State.Stopped, State.Stopped, 0, "operator stop");
  }
  if (input.trigger == Trigger.Restart) {
    return persist(State.Stopped, State.Running, 0, "restart requested");
  }
  // A container restart, an OOM kill, a bare kill: come back at next boot.
  return persist(State.Running, State.None, 1, "signal without marker: revive at boot");
}

// exit decides, when the gateway ended by itself, whether it restarts.
function exit(input: Input): Decision {
  if (input.signal != 0) {
    return restart(0, State.Running, "killed by signal " + input.signal.toString() + ": restart");
  }
  if (input.exitCode == 0) {
    return stop(State.Stopped, "exited 0: done");
  }
  if (input.exitCode == EXIT_CONFIG) {
    return stop(State.Stopped, "exited 78 (EX_CONFIG): configuration error");
  }
  return restart(0, State.Running, "exited " + input.exitCode.toString() + ": restart");
}

// Pass null for a decision to leave it to the supervisor's built-in default.
// The last argument declares the parameters the policy reads
// (key:type:default, comma-separated; "" for none): "supervisor config
// check" warns about any other key of [policy.params].
policy("my-policy", "0.1.0", boot, shutdown, exit, "multiplex_profiles:bool:false");
