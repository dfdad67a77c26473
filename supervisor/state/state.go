package state

import (
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

	// GatewayState and DesiredState are the values as found, raw: a
	// string exactly as written (never trimmed; "" is a value), or the
	// JSON text of a value that is not a string (a number, a list ...).
	// "" when the key is absent or null (see GatewaySet, DesiredSet).
	GatewayState string
	DesiredState string
	Timestamp    time.Time // zero when absent or unparsable
	UpdatedAt    time.Time
	ExitCode     *int
	Reason       string
	Policy       string
	Trigger      string

	gatewaySet, desiredSet   bool // the key is present and not null
	gatewayJSON, desiredJSON bool // its value is not a JSON string: the field holds its JSON text

	// raw holds every key of the file as read, each value exactly as
	// written (NaN and Infinity included), so that a rewrite keeps keys
	// this package does not know.
	raw map[string]json.RawMessage
}

// GatewaySet reports whether gateway_state is present and not null.
func (f *File) GatewaySet() bool { return f.gatewaySet }

// DesiredSet reports whether desired_state is present and not null: a
// present desired_state decides the next boot, whatever its value
// ("" included), as upstream's reconciler reads it.
func (f *File) DesiredSet() bool { return f.desiredSet }

// Gateway maps gateway_state to the ABI's State: StateUnreadable for an
// unreadable file, StateNone when it is absent or null, StateOther for any
// value the ABI does not name (a string it does not know exactly, "" and
// " running" included, or a value that is not a string).
func (f *File) Gateway() hostabi.State {
	if f.Unreadable {
		return hostabi.StateUnreadable
	}
	return volumeState(f.gatewaySet, f.gatewayJSON, f.GatewayState)
}

// Desired maps desired_state to the ABI's State as Gateway does
// (StateNone when absent or null: a legacy file).
func (f *File) Desired() hostabi.State {
	if f.Unreadable {
		return hostabi.StateNone
	}
	return volumeState(f.desiredSet, f.desiredJSON, f.DesiredState)
}

func volumeState(set, notString bool, v string) hostabi.State {
	switch {
	case !set:
		return hostabi.StateNone
	case notString || v == "":
		return hostabi.StateOther
	}
	return hostabi.ParseVolumeState(v)
}

// Since is when the state was last written: updated_at, else timestamp.
func (f *File) Since() time.Time {
	if !f.UpdatedAt.IsZero() {
		return f.UpdatedAt
	}
	return f.Timestamp
}

// Extra returns the keys of the file this package does not know, as raw
// JSON as written (Python's NaN and Infinity included).
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

// Parse decodes the content of a state file as the gateway's Python
// reads it, and a little more tolerantly. It accepts what Python's json
// accepts (NaN, Infinity and -Infinity literals, duplicate keys: the last
// wins, surrounding white space), plus a UTF-8 byte-order mark; unknown
// keys; a missing desired_state; a timestamp written as a number (seconds
// or milliseconds) or a string (RFC 3339 or a number); null for any known
// key (the same as absent). gateway_state and desired_state are kept raw
// (see File). It fails when the content is not UTF-8 or not one JSON
// object.
func Parse(data []byte) (File, error) {
	raw, decoded, err := parseObject(data)
	if err != nil {
		return File{}, err
	}
	f := File{Present: true, raw: raw}
	f.GatewayState, f.gatewaySet, f.gatewayJSON = rawValue(decoded[KeyGatewayState], raw[KeyGatewayState])
	f.DesiredState, f.desiredSet, f.desiredJSON = rawValue(decoded[KeyDesiredState], raw[KeyDesiredState])
	// The rest is informative: a bad value is ignored, never fatal.
	f.Timestamp = timeKey(decoded, KeyTimestamp)
	f.UpdatedAt = timeKey(decoded, KeyUpdatedAt)
	f.Reason = stringKey(decoded, KeyReason)
	f.Policy = stringKey(decoded, KeyPolicy)
	f.Trigger = stringKey(decoded, KeyTrigger)
	if v, ok := decoded[KeyExitCode]; ok {
		var n int
		if json.Unmarshal(v, &n) == nil {
			f.ExitCode = &n
		}
	}
	return f, nil
}

// rawValue reads a state key's value, decoded v and as written w (nil:
// absent): its string, or its JSON text as written (NaN stays NaN) when it
// is not a string; set is false for absent or null.
func rawValue(v, w json.RawMessage) (s string, set, notString bool) {
	if v == nil || string(v) == "null" {
		return "", false, false
	}
	if json.Unmarshal(v, &s) == nil {
		return s, true, false
	}
	return string(w), true, true
}

// stringKey is the string value of key, "" when it is absent or not a string.
func stringKey(raw map[string]json.RawMessage, key string) string {
	var s string
	if v, ok := raw[key]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
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

// Marshal encodes f: the keys as read, each unknown one exactly as
// written (a Python NaN stays NaN), with the known ones replaced by f's
// fields (a zero field removes its key; gateway_state and desired_state
// are written as found, raw, until a change sets them). It never writes a
// byte-order mark.
func (f *File) Marshal() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(f.raw)+8)
	for k, v := range f.raw {
		if !known[k] {
			out[k] = v
		}
	}
	enc := func(k string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("state: encode %s: %w", k, err)
		}
		out[k] = b
		return nil
	}
	setState := func(k, v string, set, notString bool) error {
		switch {
		case !set:
			return nil
		case notString:
			out[k] = json.RawMessage(v)
			return nil
		}
		return enc(k, v)
	}
	setString := func(k, v string) error {
		if v == "" {
			return nil
		}
		return enc(k, v)
	}
	errs := []error{
		setState(KeyGatewayState, f.GatewayState, f.gatewaySet, f.gatewayJSON),
		setState(KeyDesiredState, f.DesiredState, f.desiredSet, f.desiredJSON),
		setString(KeyReason, f.Reason),
		setString(KeyPolicy, f.Policy),
		setString(KeyTrigger, f.Trigger),
	}
	if !f.Timestamp.IsZero() {
		out[KeyTimestamp] = json.RawMessage(strconv.FormatFloat(float64(f.Timestamp.UnixMicro())/1e6, 'f', 6, 64))
	}
	if !f.UpdatedAt.IsZero() {
		errs = append(errs, enc(KeyUpdatedAt, f.UpdatedAt.UTC().Format(time.RFC3339Nano)))
	}
	if f.ExitCode != nil {
		errs = append(errs, enc(KeyExitCode, *f.ExitCode))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return encodeObject(out), nil
}

// Change is what an update sets. Zero fields leave the file's value alone.
type Change struct {
	Gateway  hostabi.State // gateway_state; StateNone leaves it
	Desired  hostabi.State // desired_state; StateNone leaves it
	ExitCode *int
	Reason   string
	Policy   string
	Trigger  string
	// Undecided clears policy, exit_code and trigger: no policy decided
	// this change, and no exit or stop of "supervisor run" goes with it
	// (Trigger, when set, is written after the clearing).
	Undecided bool
}

// Apply sets c's fields on f and stamps timestamp and updated_at with now.
// It refuses a state that cannot be persisted (none, unreadable, other).
func (c Change) Apply(f *File, now time.Time) error {
	if c.Gateway != hostabi.StateNone {
		if !c.Gateway.Persistable() {
			return fmt.Errorf("state: gateway_state %s cannot be persisted", c.Gateway)
		}
		f.GatewayState, f.gatewaySet, f.gatewayJSON = c.Gateway.String(), true, false
	}
	if c.Desired != hostabi.StateNone {
		if c.Desired != hostabi.StateRunning && c.Desired != hostabi.StateStopped {
			return fmt.Errorf("state: desired_state %s is not running or stopped", c.Desired)
		}
		f.DesiredState, f.desiredSet, f.desiredJSON = c.Desired.String(), true, false
	}
	if c.Undecided {
		f.Policy, f.ExitCode, f.Trigger = "", nil, ""
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
