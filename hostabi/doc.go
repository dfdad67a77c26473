// Package hostabi is the contract between the supervisor (the host) and a
// policy module (the guest): the ABI version, the names of the exports a
// module provides, the decision types and their binary encoding.
//
// It depends on nothing but the standard library, because policy guests
// written in Go compile against it (GOOS=wasip1). It must not import any
// other package of this repository.
//
// # Version
//
// This is ABI 1.1. A module reports its version from hermes_abi_version as
// major<<16 | minor. The host refuses a module whose major version differs
// from [VersionMajor]; a module with a higher minor version is accepted (minor
// versions only append fields, or give a meaning to bits and fields that
// were zero, see "Records" below).
//
// 1.1 added, for the boot decision: two input flags (no state file; the
// legacy "gateway run" command), the host-set parameter bootstrap_state,
// and a boot decision that seeds the profile's state (its state and
// desired fields). A 1.0 module still runs on this host: it ignores flag bits
// it does not know, and a boot decision of a 1.0 module that names a state
// is refused as before. A 1.1 module on a 1.0
// host sees the flags clear and bootstrap_state only when [policy.params]
// sets it; its seeding answers are refused there (the host's fallback
// decides).
//
// # Exports
//
// A module exports linear memory and four functions. All integers are
// little-endian; pointers are offsets into the module's exported memory.
//
//	memory                                      the module's linear memory
//	hermes_abi_version() -> i32                  major<<16 | minor, e.g. 0x00010000
//	hermes_metadata() -> i64                     ptr<<32 | len of the metadata text
//	hermes_alloc(len i32) -> i32                 the input buffer: at least len bytes
//	hermes_decide(kind i32, ptr i32, len i32) -> i64
//	                                             ptr<<32 | len of the decision record,
//	                                             or a negative number: the module declines
//	                                             (the host uses its fallback)
//
// A decision is one call. Before an instance's first decision, the host
// calls hermes_alloc(capacity) once, with a capacity of at least the size of
// that decision's input record (this host asks for the larger of that size
// and 4 KiB). The module returns the offset of a buffer of at least capacity
// bytes; a buffer that does not lie wholly inside the module's memory is a
// failure of the module. From then on the buffer is the host's: the module
// keeps it valid for the instance's life and neither frees, moves, writes
// nor reuses it. For each decision the host writes the input record at the
// start of the buffer and calls hermes_decide(kind, ptr, len), ptr being the
// buffer's offset and len the record's size (at most the capacity). Only
// when a later input record is larger than the capacity does the host call
// hermes_alloc again, with a capacity of at least that record's size; the
// new buffer replaces the old one under the same rules, and the module may
// free the old one (the host no longer uses it). A module may decline (a
// negative result) a call to hermes_decide whose [ptr, ptr+len) is not
// within its current buffer.
//
// Everything else a decision allocates is the module's scratch memory. A
// module may release all of it at the start of each hermes_decide (and in
// hermes_alloc), never the input buffer: a module with a bump allocator thus
// makes any number of decisions in constant memory. The decision record must
// stay valid until the next call into the module. A module may return the
// same static buffer every time; the host never calls a module from two
// goroutines at once.
//
// A module may import nothing but WASI preview 1 (wasi_snapshot_preview1),
// which the host provides with no filesystem, no network, no environment,
// no arguments and a clock frozen at the Unix epoch (the real time is the
// input's now_ms). A module importing anything else is refused.
//
// # Metadata
//
// hermes_metadata points at UTF-8 text, one key=value per line:
//
//	name=default            required, [a-z0-9._-]{1,64}
//	version=1.0.0           required, 1 to 64 printable characters
//	decisions=boot,shutdown,exit
//	                        required: the decisions the module makes; the host
//	                        uses its fallback for the others
//	params=multiplex_profiles:bool:false,window:duration:10m
//	                        optional: every parameter the module reads, as
//	                        key:type:default entries separated by commas
//
// params declares the module's parameters: key is the dotted key in
// [policy.params] (1 to 128 of [A-Za-z0-9_.-]); type is bool, int, float,
// string or duration (a string parameter holding a Go duration such as
// "10m" or "90s"); default is the value the module uses when the key is
// absent or has another type, written as TOML would without quotes (true,
// 5, 1.5, running, 10m; empty for the empty string; no comma or newline).
// "params=" with nothing after it declares that the module reads none. A
// module without the key (one written before it existed) is valid: the host
// then cannot tell which parameters it reads. "supervisor config check"
// warns about a configured parameter a module that declares its parameters
// does not declare, or that is not of the declared type; "supervisor policy
// inspect" lists them. A malformed params value refuses the module, as any
// malformed metadata does. Parameters the host sets itself (bootstrap_state)
// are declared like any other when the module reads them.
//
// Other keys are kept and shown by "supervisor policy inspect". At most 4 KiB.
//
// # Decisions
//
// Kind 1, boot: at container boot, for each profile: start the gateway,
// register its slot down, or skip the profile (no slot at all).
//
// Kind 2, shutdown: a stop signal reached "supervisor run": which
// gateway_state (and optionally desired_state) to persist, and the exit code
// of "supervisor run". Made durable before the gateway is signalled.
//
// Kind 3, exit: the gateway process ended by itself: restart it (after a
// delay) or stop for good; optionally which states to persist.
//
// # Records
//
// Input record (every kind uses the same layout; fields a kind does not use
// are zero). Offsets are from the start of the record; the constants
// InputOff*, HistoryOff* and OutputOff* name them.
//
//	off  type  field
//	0    u32   size           bytes in the whole record (header + variable parts)
//	4    u32   header_size    bytes in the fixed header (96 in 1.0 and 1.1); variable parts follow it
//	8    u32   kind           1 boot, 2 shutdown, 3 exit
//	12   u32   flags          bit 0: the profile is the root profile "default"
//	                          bit 1 (1.1, boot): no state file: nothing at all is at its path
//	                          bit 2 (1.1, boot): the container runs the legacy "gateway run" command
//	16   i64   now_ms         the time of the decision, Unix milliseconds (the host's clock)
//	24   u32   state          persisted gateway_state (State, below)
//	28   u32   desired        persisted desired_state (State; 0 = not recorded)
//	32   i64   state_since_ms when the persisted state was written (0 = unknown)
//	40   u32   prior_exit     boot: how the last life ended (0 unknown, 1 clean, 2 unclean)
//	44   u32   trigger        shutdown: 1 signal (no marker), 2 operator stop, 3 restart
//	48   i32   signal         shutdown: the stop signal; exit: the signal that killed the gateway (0 none)
//	52   u32   phase          shutdown, exit: the gateway's phase (Phase, below)
//	56   i64   uptime_ms      shutdown, exit: how long the gateway has been alive
//	64   i32   exit_code      exit: the gateway's exit status (-1 when killed by a signal)
//	68   u32   profile_off    offset of the profile name (UTF-8)
//	72   u32   profile_len
//	76   u32   history_off    offset of the exit history (records of 32 bytes, oldest first)
//	80   u32   history_count
//	84   u32   params_off     offset of the policy parameters
//	88   u32   params_len     bytes
//	92   u32   reserved       zero
//
// Exit history record (32 bytes), one per ended gateway life, oldest first:
//
//	0    i64   time_ms        when that life ended
//	8    i64   uptime_ms      how long it had lived
//	16   i32   exit_code      -1 when killed by a signal
//	20   i32   signal         0 when it exited by itself
//	24   u32   trigger        what ended it: 1 signal, 2 operator stop, 3 restart, 4 exited by itself
//	28   u32   verdict        the exit decision taken: 0 none, 4 restart, 5 stop
//
// Parameters (the [policy.params] table of hermes.toml, nested tables
// flattened to dotted keys, sorted by key) are a sequence of entries:
//
//	u16 key_len, key bytes, u8 type, value
//	type 1 bool:   u8 (0 or 1)
//	type 2 int:    i64
//	type 3 float:  f64
//	type 4 string: u32 len, bytes
//
// Entries are packed with no padding; read them with unaligned loads.
//
// The host sets some parameters itself, over the table's (1.1): at boot,
// bootstrap_state (a string) is HERMES_GATEWAY_BOOTSTRAP_STATE from boot's
// environment when that is set and not empty.
//
// Decision record, returned by hermes_decide:
//
//	0    u32   size           bytes in the whole record (32 + reason length), at most 1024
//	4    u32   action         boot: 1 start, 2 down, 3 skip; exit: 4 restart, 5 stop; shutdown: 0
//	8    u32   state          gateway_state to persist (0 = persist nothing); boot (1.1): to seed
//	12   u32   desired        desired_state to persist (0 = leave as is; else 3 running or 6 stopped); boot (1.1): to seed
//	16   i32   exit_code      shutdown: exit code of "supervisor run", 0..255; others: 0
//	20   u32   reason_len     at most 256 bytes of UTF-8
//	24   i64   delay_ms       exit with restart: delay before the restart, 0..3600000; others: 0
//	32   ...   reason         why, in a few words; it ends up in logs and the boot log
//
// A boot decision (1.1) that names a state or a desired state seeds the
// profile's gateway_state.json with them before its slot is published
// (read-modify-write, as every update), and the boot log's prior_state is
// then what was seeded: upstream's legacy migration and first boot are
// such decisions of the default policy. A skip seeds nothing; a module
// speaking 1.0 seeds nothing either (its boot state and desired must be 0).
//
// Anything out of these ranges makes the host discard the answer, log why,
// and decide with its native fallback (or fail, with on_error = "fail").
//
// States: 0 none, 1 unreadable, 2 starting, 3 running, 4 draining,
// 5 degraded, 6 stopped, 7 startup_failed, 8 other (a value this ABI does not
// name). Phases: 0 none, 1 starting, 2 running, 3 draining, 4 degraded.
package hostabi
