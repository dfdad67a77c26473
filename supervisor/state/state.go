package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Keys of gateway_state.json this package reads and writes. Any other key
// found in the file is kept as it is.
const (
	KeyGatewayState = "gateway_state"
	KeyDesiredState = "desired_state"
	KeyTimestamp    = "timestamp"  // Unix seconds (a number) when written here; a string is read too
	KeyUpdatedAt    = "updated_at" // RFC 3339
	KeyExitCode     = "exit_code"  // exit code "supervisor run" decided, with the shutdown decision
	KeyReason       = "reason"     // the policy's reason for the last decision
	KeyPolicy       = "policy"     // the policy that decided: name@digest8
	KeyTrigger      = "trigger"    // what ended the last life: signal, operator, restart, exited
)

// File is the content of gateway_state.json.
type File struct {
	// Present is false when there is no file (or it is unreadable).
	Present bool
	// Unreadable is true when a file exists but cannot be used.
	Unreadable bool

	GatewayState string    // as found on the volume; "" when absent
	DesiredState string    // "" when absent (legacy files)
	Timestamp    time.Time // zero when absent or unparsable
	UpdatedAt    time.Time
	ExitCode     *int
	Reason       string
	Policy       string
	Trigger      string

	// raw holds every key of the file as read, so that a rewrite keeps
	// keys this package does not know.
	raw map[string]json.RawMessage
}

// Gateway maps gateway_state to the ABI's State: StateUnreadable for an
// unreadable file, StateNone when there is none, StateOther for a value the
// ABI does not name.
func (f *File) Gateway() hostabi.State {
	if f.Unreadable {
		return hostabi.StateUnreadable
	}
	return hostabi.ParseVolumeState(f.GatewayState)
}

// Desired maps desired_state to the ABI's State (StateNone when absent).
func (f *File) Desired() hostabi.State {
	if f.Unreadable {
		return hostabi.StateNone
	}
	return hostabi.ParseVolumeState(f.DesiredState)
}

// Since is when the state was last written: updated_at, else timestamp.
func (f *File) Since() time.Time {
	if !f.UpdatedAt.IsZero() {
		return f.UpdatedAt
	}
	return f.Timestamp
}

// Extra returns the keys of the file this package does not know, as raw JSON.
func (f *File) Extra() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range f.raw {
		if !known[k] {
			out[k] = v
		}
	}
	return out
}

var known = map[string]bool{KeyGatewayState: true, KeyDesiredState: true, KeyTimestamp: true, KeyUpdatedAt: true,
	KeyExitCode: true, KeyReason: true, KeyPolicy: true, KeyTrigger: true}

// Read reads gateway_state.json at path. A missing file is File{} and no
// error. An unreadable one is File{Unreadable: true} and an error wrapping
// ErrUnreadable that names the file: the caller logs it as a warning and
// goes on with "no state".
func Read(path string) (File, error) {
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return File{}, nil
	}
	if err != nil {
		return File{Unreadable: true}, err
	}
	f, err := Parse(data)
	if err != nil {
		return File{Unreadable: true}, fmt.Errorf("state: %s: %w: %w", path, ErrUnreadable, err)
	}
	return f, nil
}

// Parse decodes the content of a state file. It tolerates a UTF-8 byte-order
// mark, surrounding white space, unknown keys, a missing desired_state, a
// timestamp written as a number (seconds or milliseconds) or a string
// (RFC 3339 or a number), and null for any known key. It fails when the
// content is not a JSON object or a state key holds something other than a
// string.
func Parse(data []byte) (File, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return File{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if raw == nil {
		return File{}, errors.New("not a JSON object: null")
	}
	f := File{Present: true, raw: raw}
	var err error
	if f.GatewayState, err = stringKey(raw, KeyGatewayState); err != nil {
		return File{}, err
	}
	if f.DesiredState, err = stringKey(raw, KeyDesiredState); err != nil {
		return File{}, err
	}
	// The rest is informative: a bad value is ignored, never fatal.
	f.Timestamp = timeKey(raw, KeyTimestamp)
	f.UpdatedAt = timeKey(raw, KeyUpdatedAt)
	f.Reason, _ = stringKey(raw, KeyReason)
	f.Policy, _ = stringKey(raw, KeyPolicy)
	f.Trigger, _ = stringKey(raw, KeyTrigger)
	if v, ok := raw[KeyExitCode]; ok {
		var n int
		if json.Unmarshal(v, &n) == nil {
			f.ExitCode = &n
		}
	}
	return f, nil
}

func stringKey(raw map[string]json.RawMessage, key string) (string, error) {
	v, ok := raw[key]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s is %s, not a string", key, abbrev(v))
	}
	return strings.TrimSpace(s), nil
}

func abbrev(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "..."
	}
	return string(v)
}

// parseTime reads a time written as Unix seconds or milliseconds (a JSON
// number or a numeric string) or an RFC 3339 string. Zero when it cannot.
func parseTime(v json.RawMessage) time.Time {
	var num float64
	if err := json.Unmarshal(v, &num); err == nil {
		return fromUnix(num)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return time.Time{}
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return fromUnix(n)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func timeKey(raw map[string]json.RawMessage, key string) time.Time {
	v, ok := raw[key]
	if !ok {
		return time.Time{}
	}
	return parseTime(v)
}

func fromUnix(n float64) time.Time {
	if math.IsNaN(n) || math.IsInf(n, 0) || n <= 0 || n > 1e15 {
		return time.Time{}
	}
	if n > 1e11 { // milliseconds
		n /= 1000
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// Marshal encodes f: the keys as read, with the known ones replaced by f's
// fields (a zero field removes its key, except gateway_state and
// desired_state which are kept when already present and set).
func (f *File) Marshal() ([]byte, error) {
	out := make(map[string]any, len(f.raw)+8)
	for k, v := range f.raw {
		if !known[k] {
			out[k] = v
		}
	}
	setString := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	setString(KeyGatewayState, f.GatewayState)
	setString(KeyDesiredState, f.DesiredState)
	setString(KeyReason, f.Reason)
	setString(KeyPolicy, f.Policy)
	setString(KeyTrigger, f.Trigger)
	if !f.Timestamp.IsZero() {
		out[KeyTimestamp] = json.Number(strconv.FormatFloat(float64(f.Timestamp.UnixMicro())/1e6, 'f', 6, 64))
	}
	if !f.UpdatedAt.IsZero() {
		out[KeyUpdatedAt] = f.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	if f.ExitCode != nil {
		out[KeyExitCode] = *f.ExitCode
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("state: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// Change is what an update sets. Zero fields leave the file's value alone.
type Change struct {
	Gateway  hostabi.State // gateway_state; StateNone leaves it
	Desired  hostabi.State // desired_state; StateNone leaves it
	ExitCode *int
	Reason   string
	Policy   string
	Trigger  string
	// Undecided clears policy and exit_code: no policy decided this
	// change, and no exit of "supervisor run" goes with it.
	Undecided bool
}

// Apply sets c's fields on f and stamps timestamp and updated_at with now.
// It refuses a state that cannot be persisted (none, unreadable, other).
func (c Change) Apply(f *File, now time.Time) error {
	if c.Gateway != hostabi.StateNone {
		if !c.Gateway.Persistable() {
			return fmt.Errorf("state: gateway_state %s cannot be persisted", c.Gateway)
		}
		f.GatewayState = c.Gateway.String()
	}
	if c.Desired != hostabi.StateNone {
		if c.Desired != hostabi.StateRunning && c.Desired != hostabi.StateStopped {
			return fmt.Errorf("state: desired_state %s is not running or stopped", c.Desired)
		}
		f.DesiredState = c.Desired.String()
	}
	if c.Undecided {
		f.Policy, f.ExitCode = "", nil
	}
	if c.ExitCode != nil {
		v := *c.ExitCode
		f.ExitCode = &v
	}
	if c.Reason != "" {
		f.Reason = c.Reason
	}
	if c.Policy != "" {
		f.Policy = c.Policy
	}
	if c.Trigger != "" {
		f.Trigger = c.Trigger
	}
	f.Timestamp, f.UpdatedAt = now, now
	f.Present = true
	return nil
}

// Update changes gateway_state.json at path under the state lock: it reads
// the file (an unreadable one counts as empty: the update replaces it), calls
// fn, and writes the result atomically and durably. Keys fn does not touch,
// including keys this package does not know, are kept. It returns the file
// as written. fn may return an error to abandon the update.
func Update(path string, fn func(*File) error) (File, error) {
	return update(path, func() (*Lock, error) { return LockFile(path, LockTimeout) },
		func(data []byte) error { return WriteAtomic(path, data, 0o644) }, fn)
}

// update is Update with the lock and the durable write given: a Keeper
// brings its own, prepared beforehand.
func update(path string, lock func() (*Lock, error), write func([]byte) error, fn func(*File) error) (File, error) {
	lk, err := lock()
	if err != nil {
		return File{}, err
	}
	defer lk.Unlock()
	f, _ := Read(path)
	if f.Unreadable {
		f = File{}
	}
	if err := fn(&f); err != nil {
		return File{}, err
	}
	data, err := f.Marshal()
	if err != nil {
		return File{}, err
	}
	if err := write(data); err != nil {
		return File{}, err
	}
	f.Present = true
	return f, nil
}

// Set applies c to the state file at path at time now (see Update).
func Set(path string, c Change, now time.Time) (File, error) {
	return Update(path, func(f *File) error { return c.Apply(f, now) })
}
