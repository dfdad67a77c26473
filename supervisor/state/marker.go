package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Intent is what an operator's planned stop means.
type Intent string

// Intents a marker may carry.
const (
	IntentStop    Intent = "stop"
	IntentRestart Intent = "restart"
)

// DefaultMarkerTTL is how long a planned-stop marker is honoured after it
// was written. An operator writes it just before signalling, so a live
// marker is seconds old; a minute leaves room for a slow s6 and a loaded
// machine while keeping an abandoned marker from matching a later stop.
const DefaultMarkerTTL = 60 * time.Second

// MarkerFutureSlack is how far in the future a marker's written_at may lie
// (clock granularity between two processes) before it is refused.
const MarkerFutureSlack = time.Second

// Proc identifies a process across pid reuse: its pid and its start time
// (field 22 of /proc/PID/stat, clock ticks since the machine booted).
type Proc struct {
	Pid       int
	StartTime uint64
}

// ErrNoProcess is wrapped when /proc has no such process.
var ErrNoProcess = errors.New("no such process")

// ProcOf reads the identity of process pid from /proc.
func ProcOf(pid int) (Proc, error) {
	p, _, err := readStat(pid)
	return p, err
}

// Gone reports whether p no longer runs: /proc has no such process,
// another process has taken its pid, or it is a zombie its parent has not
// reaped yet.
func Gone(p Proc) bool {
	q, zombie, err := readStat(p.Pid)
	return err != nil || q != p || zombie
}

// readStat reads process pid's identity from /proc/PID/stat, and whether
// it is a zombie (state Z).
func readStat(pid int) (Proc, bool, error) {
	if pid <= 0 {
		return Proc{}, false, fmt.Errorf("state: pid %d: %w", pid, ErrNoProcess)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscallESRCH) {
		return Proc{}, false, fmt.Errorf("state: pid %d: %w", pid, ErrNoProcess)
	}
	if err != nil {
		return Proc{}, false, fmt.Errorf("state: pid %d: %w", pid, err)
	}
	st, err := ParseStartTime(b)
	if err != nil {
		return Proc{}, false, fmt.Errorf("state: /proc/%d/stat: %w", pid, err)
	}
	i := bytes.LastIndexByte(b, ')') // ParseStartTime found it, and fields after it
	return Proc{Pid: pid, StartTime: st}, i+2 < len(b) && b[i+2] == 'Z', nil
}

// Self is the identity of the calling process.
func Self() (Proc, error) { return ProcOf(os.Getpid()) }

// ParseStartTime extracts field 22 (starttime) from the content of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted after the last ')'.
func ParseStartTime(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in stat")
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("stat has %d fields after the command name, want at least 20", len(fields))
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("starttime %q: %w", fields[19], err)
	}
	return v, nil
}

// Marker is the content of .gateway-planned-stop.json.
type Marker struct {
	TargetPid       int       `json:"target_pid"`
	TargetStartTime uint64    `json:"target_start_time"`
	StopperPid      int       `json:"stopper_pid"`
	WrittenAt       time.Time `json:"written_at"`
	Intent          Intent    `json:"intent"`
}

// Target is the process the marker names.
func (m Marker) Target() Proc { return Proc{m.TargetPid, m.TargetStartTime} }

// MarshalJSON writes written_at as RFC 3339 in UTC.
func (m Marker) MarshalJSON() ([]byte, error) {
	type plain Marker
	p := plain(m)
	p.WrittenAt = p.WrittenAt.UTC()
	return json.Marshal(p)
}

// ParseMarker decodes and validates a marker. written_at may be RFC 3339
// (hermes writes "+00:00", this supervisor "Z") or Unix seconds;
// target_start_time a number or a numeric string. A marker without an
// intent key is hermes' own (status.py's write_planned_stop_marker, which
// `hermes gateway stop` writes): a stop. hermes may write
// target_start_time null when it could not read the target's start time;
// such a marker is refused (malformed: the stop then counts as a plain
// signal, which persists running), because a pid alone may name a process
// that reused it.
func ParseMarker(data []byte) (Marker, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var raw struct {
		TargetPid       json.Number     `json:"target_pid"`
		TargetStartTime json.RawMessage `json:"target_start_time"`
		StopperPid      json.Number     `json:"stopper_pid"`
		WrittenAt       json.RawMessage `json:"written_at"`
		Intent          string          `json:"intent"`
		HasIntent       bool            `json:"-"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Marker{}, fmt.Errorf("not a marker object: %w", err)
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(data, &keys) == nil {
		_, raw.HasIntent = keys["intent"]
	}
	var m Marker
	pid, err := strconv.Atoi(string(raw.TargetPid))
	if err != nil || pid <= 0 {
		return Marker{}, fmt.Errorf("target_pid %q is not a positive integer", raw.TargetPid)
	}
	m.TargetPid = pid
	st := strings.Trim(strings.TrimSpace(string(raw.TargetStartTime)), `"`)
	if m.TargetStartTime, err = strconv.ParseUint(st, 10, 64); err != nil || m.TargetStartTime == 0 {
		return Marker{}, fmt.Errorf("target_start_time %q is not a positive integer", st)
	}
	if raw.StopperPid != "" {
		if m.StopperPid, err = strconv.Atoi(string(raw.StopperPid)); err != nil {
			return Marker{}, fmt.Errorf("stopper_pid %q is not an integer", raw.StopperPid)
		}
	}
	if m.WrittenAt = parseTime(raw.WrittenAt); m.WrittenAt.IsZero() {
		return Marker{}, fmt.Errorf("written_at %s is not a time", abbrev(raw.WrittenAt))
	}
	switch Intent(raw.Intent) {
	case IntentStop, IntentRestart:
		m.Intent = Intent(raw.Intent)
	case "":
		if raw.HasIntent {
			return Marker{}, errors.New(`intent "" is not stop or restart`)
		}
		// hermes' own marker (`hermes gateway stop` run in the container
		// writes one naming the process s6 supervises): it has no intent,
		// and is a stop.
		m.Intent = IntentStop
	default:
		return Marker{}, fmt.Errorf("intent %q is not stop or restart", raw.Intent)
	}
	return m, nil
}

// Judgement is what a marker means to a process that received a stop signal.
type Judgement int

// Judgements, in the order Judge checks them.
const (
	MarkerAbsent    Judgement = iota // no marker file
	MarkerMalformed                  // unreadable or invalid
	MarkerFuture                     // written_at lies in the future
	MarkerExpired                    // older than the TTL
	MarkerOther                      // names another process (another pid, or the same pid with another start time)
	MarkerHonoured                   // names this process, within its TTL
)

var judgementNames = []string{"absent", "malformed", "future", "expired", "other process", "honoured"}

func (j Judgement) String() string {
	if int(j) < len(judgementNames) {
		return judgementNames[j]
	}
	return "judgement(" + strconv.Itoa(int(j)) + ")"
}

// Judge decides whether marker m is honoured by process self at time now.
// It is pure: the caller supplies the clock.
func Judge(m Marker, self Proc, now time.Time, ttl time.Duration) Judgement {
	switch {
	case m.WrittenAt.After(now.Add(MarkerFutureSlack)):
		return MarkerFuture
	case now.Sub(m.WrittenAt) > ttl:
		return MarkerExpired
	case m.TargetPid != self.Pid || m.TargetStartTime != self.StartTime:
		return MarkerOther
	}
	return MarkerHonoured
}

// WriteMarker records an operator's planned stop of process target at time
// now, atomically and durably, replacing any marker already there. The
// stopper is the calling process.
func WriteMarker(path string, target Proc, intent Intent, now time.Time) (Marker, error) {
	if intent != IntentStop && intent != IntentRestart {
		return Marker{}, fmt.Errorf("state: marker intent %q is not stop or restart", intent)
	}
	if target.Pid <= 0 || target.StartTime == 0 {
		return Marker{}, fmt.Errorf("state: marker target pid %d start time %d is not a process", target.Pid, target.StartTime)
	}
	m := Marker{TargetPid: target.Pid, TargetStartTime: target.StartTime, StopperPid: os.Getpid(), WrittenAt: now, Intent: intent}
	data, err := json.Marshal(m)
	if err != nil {
		return Marker{}, fmt.Errorf("state: encode marker: %w", err)
	}
	if err := WriteAtomic(path, append(data, '\n'), 0o644); err != nil {
		return Marker{}, err
	}
	return m, nil
}

// WriteMarkerFor writes a marker naming process pid, reading its start time
// from /proc. It fails with an error wrapping ErrNoProcess if pid is gone.
func WriteMarkerFor(path string, pid int, intent Intent, now time.Time) (Marker, error) {
	p, err := ProcOf(pid)
	if err != nil {
		return Marker{}, err
	}
	return WriteMarker(path, p, intent, now)
}

// ReadMarker reads the marker at path. A missing file is (Marker{},
// MarkerAbsent, nil); an invalid one is MarkerMalformed with an error naming
// the file.
func ReadMarker(path string) (Marker, Judgement, error) {
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Marker{}, MarkerAbsent, nil
	}
	if err != nil {
		return Marker{}, MarkerMalformed, err
	}
	m, err := ParseMarker(data)
	if err != nil {
		return Marker{}, MarkerMalformed, fmt.Errorf("state: %s: %w: %w", path, ErrUnreadable, err)
	}
	return m, MarkerHonoured, nil
}

// ConsumeMarker is what a process does when a stop signal reaches it: it
// reads the marker at path and judges it for self at time now. Whatever the
// judgement, the marker is removed: an honoured marker is used up, and one
// that is not (another process's, expired, future-dated, malformed) is
// stale. It returns the marker and the judgement; the error reports a
// malformed marker or a failed removal, for logging: the judgement is valid
// either way.
func ConsumeMarker(path string, self Proc, now time.Time, ttl time.Duration) (Marker, Judgement, error) {
	m, j, err := ReadMarker(path)
	if j == MarkerAbsent {
		return Marker{}, j, nil
	}
	if j != MarkerMalformed {
		j = Judge(m, self, now, ttl)
	}
	if rerr := removeLazy(path); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return m, j, err
}

// WithdrawMarker removes the marker at path if it is still m (same target
// and written_at): the marker a command wrote and must not leave behind
// when it fails. A marker another command wrote meanwhile is kept.
func WithdrawMarker(path string, m Marker) error {
	cur, j, _ := ReadMarker(path)
	if j != MarkerHonoured || cur.Target() != m.Target() || !cur.WrittenAt.Equal(m.WrittenAt) {
		return nil
	}
	return removeFile(path)
}
