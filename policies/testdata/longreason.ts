// A policy whose reasons are longer than the ABI's 256 bytes and have a
// multi-byte character across the limit: the SDK must cut them on a
// character boundary (policies_test.go builds and runs it).
import { Input, Decision, State, policy, start, persist, stop } from "../sdk/assemblyscript";
export { hermes_abi_version, hermes_metadata, hermes_alloc, hermes_decide } from "../sdk/assemblyscript";

function boot(input: Input): Decision {
  return start("a".repeat(255) + "é"); // 2 bytes from byte 255
}

function shutdown(input: Input): Decision {
  return persist(State.Running, State.None, 1, "a".repeat(254) + "€"); // 3 bytes from byte 254
}

function exit(input: Input): Decision {
  return stop(State.Stopped, "a".repeat(253) + "𝄞"); // 4 bytes from byte 253
}

policy("longreason", "1.0.0", boot, shutdown, exit);
