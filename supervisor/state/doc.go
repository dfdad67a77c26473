// Package state keeps what a profile remembers on the volume: the gateway
// state file (gateway_state.json), the planned-stop marker
// (.gateway-planned-stop.json), the lifecycle ledger
// (state/gateway.lifecycle.json), the exit history (state/gateway.exits.json),
// the verdict that "supervisor run" hands to "supervisor finish"
// (state/gateway.verdict.json) and the runtime files swept at boot
// (gateway.pid, processes.json).
//
// Every write is atomic and durable: a temporary file in the same directory,
// fsync, rename over the old file, fsync of the directory. A reader sees the
// old content or the new, never a torn or empty file, even if the writer is
// SIGKILLed or the machine loses power. Writes of the state file are
// serialized between processes by an advisory lock (flock) on a lock file
// beside it, and are read-modify-write: an operator command and the running
// supervisor never lose each other's fields, and keys this package does not
// know are kept.
//
// Reading is tolerant: a byte-order mark, unknown keys, a legacy file
// without desired_state, a timestamp written as a number or a string all
// read fine. A file that cannot be read (bad JSON, a directory, a FIFO, a
// symlink, more than MaxFileSize bytes) is "no state" plus an error wrapping
// ErrUnreadable that names it; callers log it as a warning. Nothing here
// panics on what it finds on the volume, follows a symlink, or blocks on a
// FIFO.
//
// Paths come from profile.For. Times are arguments (the caller's clock), so
// the judgements here (is this marker mine, is it expired) are pure and
// tested without sleeping.
//
// This package touches files and reads /proc; it never signals or starts a
// process. It may import hostabi and supervisor/profile; it must not import
// policy, runner, s6 or cmd.
package state
