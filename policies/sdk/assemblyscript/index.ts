// The AssemblyScript SDK for hermes-supervisor policies: ABI 1.1 as written
// in hostabi/doc.go. A policy imports the types below, registers its three
// decision functions with policy(), and re-exports the four ABI functions:
//
//   import { Input, Decision, policy } from "./.hermes-sdk/assemblyscript";
//   export { hermes_abi_version, hermes_metadata, hermes_alloc, hermes_decide } from "./.hermes-sdk/assemblyscript";
//   policy("mine", "1.0.0", boot, shutdown, exit, "multiplex_profiles:bool:false");
//
// (the import path is where "supervisor policy new --lang assemblyscript"
// puts this file). Pass null for a decision the policy does not make: the
// host then decides it with its built-in default. The last argument
// declares the parameters the policy reads, in the metadata's params syntax
// (key:type:default entries separated by commas; "" for none; leave it out
// to declare nothing); read them with input.paramBool, paramInt,
// paramFloat and paramString (a duration is a string such as "10m").
//
// Build with the runtime "stub" and no abort import (what "supervisor
// policy build" does: --runtime stub --use abort= -Oz --noAssert): the
// module then imports nothing. Memory: the input buffer hermes_alloc
// hands out is the first block of the heap and lives as long as the
// instance; every hermes_decide starts by releasing everything the previous
// decision allocated (everything after that block), so a long-lived instance
// never grows. Top-level code must therefore not keep heap objects (string
// literals and functions are static and fine).

// ABI version spoken: major<<16 | minor.
const ABI_VERSION: i32 = 0x00010001;

const INPUT_HEADER_SIZE: u32 = 96;
const HISTORY_RECORD_SIZE: u32 = 32;
const MAX_HISTORY: u32 = 64;
const OUTPUT_HEADER_SIZE: u32 = 32;
const MAX_REASON_LEN: i32 = 256;

// Decision kinds.
export const enum Kind { Boot = 1, Shutdown = 2, Exit = 3 }

// gateway_state / desired_state values.
export const enum State {
  None = 0, Unreadable = 1, Starting = 2, Running = 3, Draining = 4,
  Degraded = 5, Stopped = 6, StartupFailed = 7, Other = 8,
}

// How the previous life ended, as boot sees it.
export const enum PriorExit { Unknown = 0, Clean = 1, Unclean = 2 }

// What ended (or is ending) a gateway life.
export const enum Trigger { None = 0, Signal = 1, Operator = 2, Restart = 3, Exited = 4 }

// Where a live gateway is in its life.
export const enum Phase { None = 0, Starting = 1, Running = 2, Draining = 3, Degraded = 4 }

// What a decision says to do.
export const enum Action { None = 0, Start = 1, Down = 2, Skip = 3, Restart = 4, Stop = 5 }

// The name of a state as the host writes it ("state(9)" for a value the ABI does not name).
export function stateName(s: u32): string {
  switch (s) {
    case State.None: return "none";
    case State.Unreadable: return "unreadable";
    case State.Starting: return "starting";
    case State.Running: return "running";
    case State.Draining: return "draining";
    case State.Degraded: return "degraded";
    case State.Stopped: return "stopped";
    case State.StartupFailed: return "startup_failed";
    case State.Other: return "other";
  }
  return "state(" + s.toString() + ")";
}

// One ended gateway life of the exit history.
export class ExitRecord {
  timeMs: i64 = 0;   // when it ended, Unix milliseconds
  uptimeMs: i64 = 0; // how long it lived
  exitCode: i32 = 0; // -1 when killed by a signal
  signal: i32 = 0;   // 0 when it exited by itself
  trigger: u32 = 0;  // Trigger
  verdict: u32 = 0;  // Action: Restart, Stop or None
}

// Everything a decision may use; see hostabi/doc.go for each field.
export class Input {
  kind: u32 = 0;
  root: bool = false; // the profile is the root profile "default"
  noStateFile: bool = false;   // boot (1.1): nothing at all is at the state file's path
  legacyCommand: bool = false; // boot (1.1): the container runs the legacy "gateway run" command
  nowMs: i64 = 0;
  state: u32 = 0;
  desired: u32 = 0;
  stateSinceMs: i64 = 0;
  priorExit: u32 = 0;
  trigger: u32 = 0;
  signal: i32 = 0;
  phase: u32 = 0;
  uptimeMs: i64 = 0;
  exitCode: i32 = 0;
  profilePtr: usize = 0; // the profile's name, UTF-8, in the input record
  profileLen: u32 = 0;
  history: ExitRecord[] = []; // oldest first
  paramsPtr: usize = 0;
  paramsLen: u32 = 0;

  // The profile's name, decoded when a policy asks for it.
  get profile(): string {
    return String.UTF8.decodeUnsafe(this.profilePtr, this.profileLen);
  }

  // The boolean parameter key, or def when absent or not a bool.
  paramBool(key: string, def: bool): bool {
    let v = this.findParam(key, 1);
    return v ? load<u8>(v) != 0 : def;
  }

  // The integer parameter key, or def when absent or not an integer.
  paramInt(key: string, def: i64): i64 {
    let v = this.findParam(key, 2);
    return v ? load<i64>(v) : def;
  }

  // The float parameter key, or def when absent or not a float.
  paramFloat(key: string, def: f64): f64 {
    let v = this.findParam(key, 3);
    return v ? load<f64>(v) : def;
  }

  // The string parameter key, or def when absent or not a string.
  paramString(key: string, def: string): string {
    let v = this.findParam(key, 4);
    return v ? String.UTF8.decodeUnsafe(v + 4, load<u32>(v)) : def;
  }

  // findParam returns the address of the value of key when it has type t, else 0.
  private findParam(key: string, t: u8): usize {
    let room = key.length * 3;
    let kp = heap.alloc(<usize>max(room, 1));
    let kl = <u32>utf8Into(kp, key, room);
    let p = this.paramsPtr;
    let end = p + this.paramsLen;
    while (p < end) {
      let n = <u32>load<u16>(p);
      let typ = load<u8>(p + 2 + n);
      let v = p + 3 + n;
      if (n == kl && typ == t && memory.compare(p + 2, kp, n) == 0) return v;
      switch (typ) {
        case 1: p = v + 1; break;
        case 2: case 3: p = v + 8; break;
        default: p = v + 4 + load<u32>(v);
      }
    }
    return 0;
  }
}

// A policy's answer; see hostabi/doc.go for the fields each kind may set.
export class Decision {
  action: u32 = Action.None;
  state: u32 = State.None;
  desired: u32 = State.None;
  exitCode: i32 = 0;
  delayMs: i64 = 0;
  reason: string = "";
}

// Boot: start the gateway.
export function start(reason: string): Decision { return boot(Action.Start, reason); }
// Boot: register the slot down.
export function down(reason: string): Decision { return boot(Action.Down, reason); }
// Boot: no slot at all.
export function skip(reason: string): Decision { return boot(Action.Skip, reason); }

// Boot (1.1): start (or register down) and seed the profile's state file
// with state and desired (State.None: leave that key alone) before its slot
// is published.
export function seed(action: u32, state: u32, desired: u32, reason: string): Decision {
  let d = boot(action, reason);
  d.state = state;
  d.desired = desired;
  return d;
}

function boot(a: u32, reason: string): Decision {
  let d = new Decision();
  d.action = a;
  d.reason = reason;
  return d;
}

// Shutdown: persist state (and desired, unless State.None) and exit with code.
export function persist(state: u32, desired: u32, exitCode: i32, reason: string): Decision {
  let d = new Decision();
  d.state = state;
  d.desired = desired;
  d.exitCode = exitCode;
  d.reason = reason;
  return d;
}

// Exit: restart after delayMs, persisting state (State.None persists nothing).
export function restart(delayMs: i64, state: u32, reason: string): Decision {
  let d = new Decision();
  d.action = Action.Restart;
  d.delayMs = delayMs;
  d.state = state;
  d.reason = reason;
  return d;
}

// Exit: stop for good, persisting state (State.None persists nothing).
export function stop(state: u32, reason: string): Decision {
  let d = new Decision();
  d.action = Action.Stop;
  d.state = state;
  d.reason = reason;
  return d;
}

// The registered policy.
let policyName: string = "";
let policyVersion: string = "";
let bootFn: ((input: Input) => Decision) | null = null;
let shutdownFn: ((input: Input) => Decision) | null = null;
let exitFn: ((input: Input) => Decision) | null = null;
let policyParams: string | null = null;

// Registers the policy: its name ([a-z0-9._-]{1,64}), version, the
// functions making each decision (null: the host decides it with its
// built-in default), and the parameters it reads (a string literal such as
// "multiplex_profiles:bool:false,window:duration:10m"; "" reads none;
// null, the default, declares nothing).
export function policy(
  name: string, version: string,
  boot: ((input: Input) => Decision) | null,
  shutdown: ((input: Input) => Decision) | null,
  exit: ((input: Input) => Decision) | null,
  params: string | null = null,
): void {
  policyName = name;
  policyVersion = version;
  bootFn = boot;
  shutdownFn = shutdown;
  exitFn = exit;
  policyParams = params;
}

export function hermes_abi_version(): i32 {
  return ABI_VERSION;
}

export function hermes_metadata(): i64 {
  let text = "name=" + policyName + "\nversion=" + policyVersion + "\ndecisions=";
  let sep = "";
  if (bootFn) { text += "boot"; sep = ","; }
  if (shutdownFn) { text += sep + "shutdown"; sep = ","; }
  if (exitFn) { text += sep + "exit"; }
  text += "\n";
  let params = policyParams;
  if (params !== null) text += "params=" + params + "\n";
  return pack(String.UTF8.encode(text));
}

// The input buffer: the first block of the heap, kept for the instance's life.
let inputPtr: usize = 0;
let inputCap: usize = 0;

// The host calls it once per instance, and again only for a larger input:
// the new buffer replaces the old one, which the host no longer uses.
export function hermes_alloc(len: i32): usize {
  __reset();
  inputCap = <usize>max(len, 1);
  inputPtr = heap.alloc(inputCap);
  return inputPtr;
}

// recycle releases everything the previous decision allocated, keeping the
// input buffer. The stub runtime is a bump allocator: after a reset, the
// first block of the same size is the input buffer again, at the same
// address, its bytes untouched (only the block header before it is written).
function recycle(): void {
  __reset();
  if (inputCap != 0 && heap.alloc(inputCap) != inputPtr) unreachable();
}

export function hermes_decide(kind: i32, ptr: usize, len: i32): i64 {
  recycle();
  if (inputCap == 0 || ptr != inputPtr || len < 0 || <usize>len > inputCap) return -2; // not the buffer hermes_alloc handed out
  let f: ((input: Input) => Decision) | null = null;
  if (kind == Kind.Boot) f = bootFn;
  else if (kind == Kind.Shutdown) f = shutdownFn;
  else if (kind == Kind.Exit) f = exitFn;
  if (!f) return -1;
  let input = decode(ptr, <u32>len);
  if (!input) return -2;
  input.kind = <u32>kind;
  return encode(f(input));
}

function pack(buf: ArrayBuffer): i64 {
  return (<i64>changetype<usize>(buf) << 32) | <i64>buf.byteLength;
}

// Checks [off, off+n) lies inside a record of size total.
function inside(off: u32, n: u32, total: u32): bool {
  return <u64>off + <u64>n <= <u64>total;
}

function decode(b: usize, len: u32): Input | null {
  if (len < INPUT_HEADER_SIZE) return null;
  let size = load<u32>(b);
  let hsize = load<u32>(b, 4);
  if (size > len || size < hsize || hsize < INPUT_HEADER_SIZE) return null;
  let input = new Input();
  let flags = load<u32>(b, 12);
  input.root = (flags & 1) != 0;
  input.noStateFile = (flags & 2) != 0;
  input.legacyCommand = (flags & 4) != 0;
  input.nowMs = load<i64>(b, 16);
  input.state = load<u32>(b, 24);
  input.desired = load<u32>(b, 28);
  input.stateSinceMs = load<i64>(b, 32);
  input.priorExit = load<u32>(b, 40);
  input.trigger = load<u32>(b, 44);
  input.signal = load<i32>(b, 48);
  input.phase = load<u32>(b, 52);
  input.uptimeMs = load<i64>(b, 56);
  input.exitCode = load<i32>(b, 64);
  let pOff = load<u32>(b, 68), pLen = load<u32>(b, 72);
  if (!inside(pOff, pLen, size)) return null;
  input.profilePtr = b + pOff;
  input.profileLen = pLen;
  let hOff = load<u32>(b, 76), hCount = load<u32>(b, 80);
  if (hCount > MAX_HISTORY || !inside(hOff, hCount * HISTORY_RECORD_SIZE, size)) return null;
  let history = new Array<ExitRecord>(<i32>hCount);
  for (let i: u32 = 0; i < hCount; i++) {
    let r = b + hOff + i * HISTORY_RECORD_SIZE;
    let e = new ExitRecord();
    e.timeMs = load<i64>(r);
    e.uptimeMs = load<i64>(r, 8);
    e.exitCode = load<i32>(r, 16);
    e.signal = load<i32>(r, 20);
    e.trigger = load<u32>(r, 24);
    e.verdict = load<u32>(r, 28);
    history[i] = e;
  }
  input.history = history;
  let prOff = load<u32>(b, 84), prLen = load<u32>(b, 88);
  if (!inside(prOff, prLen, size) || !paramsWellFormed(b + prOff, prLen)) return null;
  input.paramsPtr = b + prOff;
  input.paramsLen = prLen;
  return input;
}

// Checks that every parameter entry lies inside the parameters.
function paramsWellFormed(p: usize, len: u32): bool {
  let end = p + len;
  while (p < end) {
    if (end - p < 3) return false;
    let v = p + 3 + <u32>load<u16>(p);
    if (v > end) return false;
    let typ = load<u8>(v - 1);
    if (typ == 1) p = v + 1;
    else if (typ == 2 || typ == 3) p = v + 8;
    else if (typ == 4) {
      if (end - v < 4 || <usize>load<u32>(v) > end - v - 4) return false;
      p = v + 4 + load<u32>(v);
    } else return false;
    if (p > end) return false;
  }
  return true;
}

function encode(d: Decision): i64 {
  let out = heap.alloc(<usize>(OUTPUT_HEADER_SIZE + <u32>MAX_REASON_LEN));
  let rl = utf8Into(out + OUTPUT_HEADER_SIZE, d.reason, MAX_REASON_LEN);
  let size = OUTPUT_HEADER_SIZE + <u32>rl;
  store<u32>(out, size);
  store<u32>(out, d.action, 4);
  store<u32>(out, d.state, 8);
  store<u32>(out, d.desired, 12);
  store<i32>(out, d.exitCode, 16);
  store<u32>(out, rl, 20);
  store<i64>(out, d.delayMs, 24);
  return (<i64>out << 32) | <i64>size;
}

// utf8Into writes s at dst as UTF-8, whole characters only, at most max
// bytes, and returns how many it wrote. A lone surrogate becomes U+FFFD.
// Plain ASCII goes four characters per turn of the loop: the host checks
// its deadline at every turn of every loop, and that check costs far more
// than the copy.
function utf8Into(dst: usize, s: string, max: i32): i32 {
  let src = changetype<usize>(s);
  let end = src + (<usize>s.length << 1);
  let n = 0;
  while (src < end) {
    if (end - src >= 8 && n + 4 <= max) {
      let w = load<u64>(src);
      if ((w & 0xff80ff80ff80ff80) == 0) {
        store<u32>(dst + n, <u32>(w & 0xff) | <u32>((w >> 8) & 0xff00) |
          <u32>((w >> 16) & 0xff0000) | <u32>((w >> 24) & 0xff000000));
        src += 8;
        n += 4;
        continue;
      }
    }
    let c = <u32>load<u16>(src);
    let units: usize = 1;
    if (c >= 0xd800 && c < 0xe000) {
      let lo: u32 = end - src >= 4 ? <u32>load<u16>(src, 2) : 0;
      if (c < 0xdc00 && lo >= 0xdc00 && lo < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        units = 2;
      } else {
        c = 0xfffd;
      }
    }
    let p = dst + n;
    if (c < 0x80) {
      if (n + 1 > max) break;
      store<u8>(p, c);
      n += 1;
    } else if (c < 0x800) {
      if (n + 2 > max) break;
      store<u8>(p, 0xc0 | (c >> 6));
      store<u8>(p, 0x80 | (c & 0x3f), 1);
      n += 2;
    } else if (c < 0x10000) {
      if (n + 3 > max) break;
      store<u8>(p, 0xe0 | (c >> 12));
      store<u8>(p, 0x80 | ((c >> 6) & 0x3f), 1);
      store<u8>(p, 0x80 | (c & 0x3f), 2);
      n += 3;
    } else {
      if (n + 4 > max) break;
      store<u8>(p, 0xf0 | (c >> 18));
      store<u8>(p, 0x80 | ((c >> 12) & 0x3f), 1);
      store<u8>(p, 0x80 | ((c >> 6) & 0x3f), 2);
      store<u8>(p, 0x80 | (c & 0x3f), 3);
      n += 4;
    }
    src += units << 1;
  }
  return n;
}
