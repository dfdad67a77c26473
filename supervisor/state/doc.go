// Package state keeps what a profile remembers on the volume: the gateway
// state file (gateway_state.json), the planned-stop marker
// (.gateway-planned-stop.json), the supervisor's lifecycle ledger
// (state/supervisor.lifecycle.json) and its reading of the gateway's own
// (state/gateway.lifecycle.json), the exit history
// (state/gateway.exits.json), with the verdict that "supervisor run" hands
// to "supervisor finish" in the ledger, and the runtime files swept at boot
// (gateway.pid, processes.json).
//
// # The files of the volume
//
// The canonical list; other packages' docs link here. Per profile
// directory ($HERMES_HOME for the root profile, profiles/NAME otherwise).
// "gateway" is the hermes gateway; "supervisor" is this program (run,
// finish, boot, the operator commands). supervisor/runner/README.md says how
// concurrent writers merge and what the next boot sees after each kind of
// stop.
//
//	file                                   written by                    the supervisor
//	gateway_state.json                     gateway and supervisor        read-modify-write under gateway_state.json.lock, keeping every other key as written
//	gateway_state.json.lock                supervisor                    flock of the updates above
//	.gateway_state.json.tmp-<pid>-<n>      supervisor                    a writer's temporary file (swept when its writer is gone)
//	.gateway-planned-stop.json             operator commands, hermes CLI consumed by the stop signal; stale ones removed at boot
//	gateway.pid                            gateway (JSON, O_EXCL)        never written; removed at boot only
//	gateway.lock                           gateway (flock for its life)  never touched
//	processes.json                         gateway                       removed at boot only
//	SOUL.md                                gateway (seeded when missing) never read; its existence marks a profile
//	profile.toml                           operator                      read as configuration; marks a profile
//	state/supervisor.lifecycle.json        supervisor                    its lifecycle ledger (Ledger): the life, the stop it decided, run's verdict for finish, the next life's restart delay
//	state/gateway.lifecycle.json           gateway (releases with one)   read for its phase (GatewayLedger); never written
//	state/gateway.exits.json               supervisor                    exit history, under its own lock
//	.<file>.tmp-<pid>-<n> (state/)         supervisor (run)              spares of the ledger and history (Prepared), removed when run exits
//	state/gateway.phase                    supervisor (run)              the live gateway's phase
//	state/decisions.jsonl                  supervisor                    the decision journal (package journal)
//	everything else (logs/, state.db ...)  gateway                       never touched
//
// Under $HERMES_HOME: logs/container-boot.log (boot; upstream's reconciler
// writes the same file), logs/gateways/NAME/ (s6-log). Compiled policy
// modules are not on the volume: policy.cache_dir (root's), one directory
// per uid. In the slot (s6's tmpfs, not the volume): verdict, the line run
// hands the slot's finish script.
//
// # Writing and reading
//
// Every write is atomic: a temporary file in the same directory, rename over
// the old file. A reader sees the old content or the new, never a torn or
// empty file, even if the writer is SIGKILLed. Writes that decide something
// are durable too (fsync of the file before the rename, of the directory
// after), so a power cut keeps them; the records written once a decision is
// already durable (a stop's record, the exit history, the ledger's end) are
// not, so that twenty gateways stopping at once do not queue their
// decisions behind each other's bookkeeping. A long-lived writer prepares
// its temporary files beforehand (Keeper, Prepared): the stop path creates
// no file. Writes of the state file are
// serialized between the supervisor's processes by an advisory lock (flock)
// on a lock file beside it, and are read-modify-write: an operator command
// and the running supervisor never lose each other's fields, and keys this
// package does not know (the gateway's own: pid, kind, argv, start_time,
// platforms ...) are kept exactly as written. The gateway writes the same
// file without that lock; see runner's README for how the two merge.
//
// Reading follows the gateway's Python: NaN and Infinity are numbers,
// gateway_state and desired_state are raw (a present "" or " running" is a
// value, not absence). It is also tolerant: a byte-order mark, unknown
// keys, a legacy file without desired_state, a timestamp written as a
// number or a string all read fine. A file that cannot be read (not UTF-8,
// not one JSON object, a directory, a FIFO, a symlink, more than
// MaxFileSize bytes) is "no state" plus an error wrapping ErrUnreadable
// that names it; callers log it as a warning. Nothing here panics on what
// it finds on the volume, follows a symlink, or blocks on a FIFO. Nothing
// here writes a byte-order mark.
//
// Paths come from profile.For. Times are arguments (the caller's clock), so
// the judgements here (is this marker mine, is it expired) are pure and
// tested without sleeping.
//
// Every path is reached through package volume (no symlink followed beneath
// the volume). This package touches files and reads /proc; it never signals
// or starts a process. It may import hostabi, supervisor/profile and
// supervisor/volume; it must not import policy, runner, s6 or cmd.
package state
