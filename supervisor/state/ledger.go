package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Ledger phases.
const (
	PhaseRunning = "running" // a gateway life is in progress
	PhaseExited  = "exited"  // the last life ended on a clean exit path
)

// Ledger is the content of the supervisor's lifecycle ledger,
// state/supervisor.lifecycle.json. "supervisor run" writes phase=running
// when it starts a gateway life and phase=exited (with the exit code and
// the reason) on every clean exit path. A ledger still saying running at
// boot means the last life never reached one: the supervisor or the
// machine died.
//
// Supervisors before this file existed kept the same content in
// state/gateway.lifecycle.json, which is the gateway's own ledger in newer
// hermes releases; MigrateLedger moves such a file to its new name.
type Ledger struct {
	Phase      string    `json:"phase"`
	Supervisor Proc      `json:"-"`
	Gateway    Proc      `json:"-"` // the gateway process of this life (0 until started)
	StartedAt  time.Time `json:"started_at"`
	ExitedAt   time.Time `json:"exited_at,omitzero"`
	ExitCode   *int      `json:"exit_code,omitempty"` // the exit code "supervisor run" left with
	Reason     string    `json:"reason,omitempty"`
	// RestartNotBefore is the restart delay the exit decision asked for:
	// the next "supervisor run" waits until then before starting the
	// gateway (s6 restarts run at once).
	RestartNotBefore time.Time `json:"restart_not_before,omitzero"`
	// Stopping records that this life's run decided a stop and made it
	// durable: a finish after a run that died before its verdict follows
	// that decision instead of deciding an exit.
	Stopping *Stopping `json:"stopping,omitempty"`
	// Verdict is what "supervisor run" decided at the end of the life,
	// for "supervisor finish" (see LedgerVerdict).
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Stopping is a stop decided during a life: its trigger and when.
type Stopping struct {
	Trigger string    `json:"trigger"`
	At      time.Time `json:"at"`
}

// WriteLedgerVia replaces the ledger at path with l, atomically but not
// durably, through via when given.
func WriteLedgerVia(via *Prepared, path string, l Ledger) error {
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("state: encode ledger: %w", err)
	}
	return replaceVia(via, path, append(data, '\n'), false)
}

// MarshalJSON flattens the process identities.
func (l Ledger) MarshalJSON() ([]byte, error) {
	type plain Ledger
	return json.Marshal(struct {
		plain
		SupervisorPid       int    `json:"supervisor_pid,omitempty"`
		SupervisorStartTime uint64 `json:"supervisor_start_time,omitempty"`
		GatewayPid          int    `json:"gateway_pid,omitempty"`
		GatewayStartTime    uint64 `json:"gateway_start_time,omitempty"`
	}{plain(l), l.Supervisor.Pid, l.Supervisor.StartTime, l.Gateway.Pid, l.Gateway.StartTime})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Ledger) UnmarshalJSON(b []byte) error {
	type plain Ledger
	var v struct {
		plain
		SupervisorPid       int    `json:"supervisor_pid"`
		SupervisorStartTime uint64 `json:"supervisor_start_time"`
		GatewayPid          int    `json:"gateway_pid"`
		GatewayStartTime    uint64 `json:"gateway_start_time"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Ledger(v.plain)
	l.Supervisor = Proc{v.SupervisorPid, v.SupervisorStartTime}
	l.Gateway = Proc{v.GatewayPid, v.GatewayStartTime}
	return nil
}

// ReadLedger reads the ledger at path. A missing file is (Ledger{}, false,
// nil); an unreadable one is an error wrapping ErrUnreadable.
func ReadLedger(path string) (Ledger, bool, error) {
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Ledger{}, false, nil
	}
	if err != nil {
		return Ledger{}, false, err
	}
	var l Ledger
	if err := json.Unmarshal(trimBOM(data), &l); err != nil {
		return Ledger{}, false, fmt.Errorf("state: %s: %w: %w", path, ErrUnreadable, err)
	}
	if l.Phase != PhaseRunning && l.Phase != PhaseExited {
		return Ledger{}, false, fmt.Errorf("state: %s: %w: phase %q is not running or exited", path, ErrUnreadable, l.Phase)
	}
	return l, true, nil
}

// GatewayLedger is what boot reads of the gateway's own lifecycle ledger
// (state/gateway.lifecycle.json, written by hermes releases that have
// one; hermes-agent 0.19.0 has none): its phase, the only field upstream's
// reconciler looks at.
type GatewayLedger struct {
	Present bool   // something is at its path
	Phase   string // "" when it has no phase string or cannot be read
	Err     error  // why it cannot be read (it then tells nothing)
}

// ReadGatewayLedger reads the gateway's ledger at path as upstream's
// reconciler does: a JSON object (a byte-order mark and Python's NaN are
// fine; content that is not UTF-8 is not) whose "phase" is a string.
// Nothing at path is GatewayLedger{}; anything else is Present, with Err
// set when it cannot be read.
func ReadGatewayLedger(path string) GatewayLedger {
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return GatewayLedger{}
	}
	g := GatewayLedger{Present: true, Err: err}
	if err != nil {
		return g
	}
	_, obj, err := parseObject(data)
	if err != nil {
		g.Err = fmt.Errorf("state: %s: %w: %w", path, ErrUnreadable, err)
		return g
	}
	if v, ok := obj["phase"]; ok {
		_ = json.Unmarshal(v, &g.Phase)
	}
	return g
}

// oldLedger reports whether data is a ledger an earlier supervisor wrote
// at the gateway's ledger path: it names the supervisor (or a deferred
// restart) and, unlike the gateway's own, no pid.
func oldLedger(data []byte) bool {
	_, obj, err := parseObject(data)
	if err != nil {
		return false
	}
	if _, ok := obj["pid"]; ok {
		return false
	}
	for _, k := range []string{"supervisor_pid", "gateway_pid", "restart_not_before"} {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}

// MigrateLedger moves a ledger an earlier supervisor left at the
// gateway's ledger path (oldPath) to the supervisor's own (newPath), or
// removes it when the supervisor already has one: the gateway's path is
// the gateway's (a hermes release with a ledger of its own would take a
// leftover "running" for an unclean death of its own). A file there that
// is the gateway's own is left alone. It reports what it did, "" for
// nothing.
func MigrateLedger(oldPath, newPath string) (string, error) {
	data, err := readFile(oldPath)
	if err != nil || !oldLedger(data) {
		return "", nil
	}
	if _, err := volume.Lstat(newPath); err == nil {
		if err := removeLazy(oldPath); err != nil {
			return "", err
		}
		return "removed " + oldPath + " (an earlier supervisor's ledger; " + newPath + " supersedes it)", nil
	}
	if err := volume.Rename(oldPath, newPath); err != nil {
		return "", fmt.Errorf("state: move %s to %s: %w", oldPath, newPath, err)
	}
	return "moved " + oldPath + " to " + newPath + " (an earlier supervisor's ledger)", nil
}

// ReadOldLedger reads, as the supervisor's ledger, one an earlier
// supervisor left at the gateway's ledger path (not yet migrated); ok is
// false when the file there is not one.
func ReadOldLedger(path string) (Ledger, bool) {
	data, err := readFile(path)
	if err != nil || !oldLedger(data) {
		return Ledger{}, false
	}
	l, ok, err := ReadLedger(path)
	return l, ok && err == nil
}

// WriteLedger replaces the ledger at path, atomically and durably, creating
// its directory if needed.
func WriteLedger(path string, l Ledger) error { return writeLedger(path, l, true) }

func writeLedger(path string, l Ledger, durable bool) error {
	if err := ensureDir(path); err != nil {
		return err
	}
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("state: encode ledger: %w", err)
	}
	return writeAtomic(path, append(data, '\n'), 0o644, durable)
}

// BeginLife records that a gateway life starts: phase=running. It keeps
// nothing of the previous ledger but a restart delay still in the future.
func BeginLife(path string, supervisor Proc, now time.Time) (Ledger, error) {
	old, _, _ := ReadLedger(path)
	l := Ledger{Phase: PhaseRunning, Supervisor: supervisor, StartedAt: now}
	if old.RestartNotBefore.After(now) {
		l.RestartNotBefore = old.RestartNotBefore
	}
	return l, WriteLedger(path, l)
}

// EndLife records a clean exit path: phase=exited with the exit code and
// reason (and no verdict). See FinishLife.
func EndLife(path string, l Ledger, code int, reason string, now time.Time) error {
	return FinishLife(path, l, Verdict{RunExit: code, Reason: reason, WrittenAt: now}, time.Time{}, nil)
}

// FinishLife records a clean exit path: phase=exited, with run's exit
// code, reason and verdict v (for finish), and the restart delay asked for
// (restartNotBefore; zero: none), through via when given (see Prepared).
// Atomic but not fsynced: it is written after the decided state is
// durable; lost to a power cut, the ledger still says running and the next
// boot reads prior_exit=unclean, which a power cut is.
func FinishLife(path string, l Ledger, v Verdict, restartNotBefore time.Time, via *Prepared) error {
	code := v.RunExit
	l.Phase, l.ExitedAt, l.ExitCode, l.Reason = PhaseExited, v.WrittenAt, &code, v.Reason
	l.RestartNotBefore = restartNotBefore
	if v.Kind != 0 {
		l.Verdict = &v
	}
	if err := ensureDir(path); err != nil {
		return err
	}
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("state: encode ledger: %w", err)
	}
	return replaceVia(via, path, append(data, '\n'), false)
}

// LedgerVerdict is the verdict the life recorded in the ledger at path
// left for "supervisor finish", when that life ended with exitCode and
// signal (as s6 passes them to finish) moments before now; ok is false
// otherwise (run died before it could decide, or the ledger is another
// life's).
func LedgerVerdict(path string, exitCode, signal int, now time.Time) (Verdict, bool) {
	l, ok, _ := ReadLedger(path)
	if !ok || l.Verdict == nil || !l.Verdict.Matches(exitCode, signal, now) {
		return Verdict{}, false
	}
	return *l.Verdict, true
}

// AttachVerdict records verdict v in the ledger at path and keeps the rest
// as it is: for a run that refused to start a life (its phase stays what
// the previous life left, for boot's prior_exit).
func AttachVerdict(path string, v Verdict) error {
	l, ok, _ := ReadLedger(path)
	if !ok {
		l = Ledger{Phase: PhaseExited}
	}
	l.Verdict = &v
	if err := ensureDir(path); err != nil {
		return err
	}
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("state: encode ledger: %w", err)
	}
	return writeAtomic(path, append(data, '\n'), 0o644, false)
}

// DeferRestart records, in the ledger at path, that the next gateway start
// must wait until notBefore. The rest of the ledger is kept.
func DeferRestart(path string, notBefore time.Time) error {
	l, ok, _ := ReadLedger(path)
	if !ok {
		l = Ledger{Phase: PhaseExited}
	}
	l.RestartNotBefore = notBefore
	return WriteLedger(path, l)
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return b[3:]
	}
	return b
}

func ensureDir(path string) error {
	dir := dirOf(path)
	fi, err := volume.Lstat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("state: %s: %w: want a directory", dir, ErrNotRegular)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("state: %w", err)
	}
	if err := volume.MkdirAll(dir, 0o755, nil); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}
