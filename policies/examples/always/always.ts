// Docker's "always": every gateway comes back. Boot starts every profile,
// every exit restarts at once, and shutdown decides like the default policy.
import {
  Input, Decision, State, Trigger, policy, start, persist, restart,
} from "../../sdk/assemblyscript";
export { hermes_abi_version, hermes_metadata, hermes_alloc, hermes_decide } from "../../sdk/assemblyscript";

function boot(input: Input): Decision {
  return start("always");
}

function shutdown(input: Input): Decision {
  if (input.trigger == Trigger.Operator) {
    return persist(State.Stopped, State.Stopped, 0, "operator stop");
  }
  if (input.trigger == Trigger.Restart) {
    return persist(State.Stopped, State.Running, 0, "restart requested");
  }
  return persist(State.Running, State.None, 1, "signal without marker: revive at boot");
}

function exit(input: Input): Decision {
  if (input.signal != 0) {
    return restart(0, State.Running, "always: killed by signal " + input.signal.toString());
  }
  return restart(0, State.Running, "always: exited " + input.exitCode.toString());
}

// It reads no parameter: "" declares none, so "supervisor config check"
// warns about any [policy.params] key given to it.
policy("always", "1.0.0", boot, shutdown, exit, "");
