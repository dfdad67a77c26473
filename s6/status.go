package s6

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Status is what s6-svstat reports about a slot.
type Status struct {
	Up         bool          `json:"up"`
	WantedUp   bool          `json:"wanted_up"`
	NormallyUp bool          `json:"normally_up"` // no down file
	Ready      bool          `json:"ready"`
	Paused     bool          `json:"paused"`
	Pid        int           `json:"pid,omitempty"`    // 0 when down
	ExitCode   int           `json:"exit_code"`        // of the last exit; -1 when none or killed
	Signal     int           `json:"signal,omitempty"` // that killed the last process; 0 = none
	Since      time.Duration `json:"-"`                // how long up (uptime) or down
	ReadyFor   time.Duration `json:"-"`                // how long ready, when Ready
}

// MarshalJSON writes the durations as whole seconds ("for_seconds",
// "ready_for_seconds"), s6's own resolution.
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status
	return json.Marshal(struct {
		plain
		For      int64 `json:"for_seconds"`
		ReadyFor int64 `json:"ready_for_seconds"`
	}{plain(s), int64(s.Since / time.Second), int64(s.ReadyFor / time.Second)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Status) UnmarshalJSON(b []byte) error {
	type plain Status
	var v struct {
		plain
		For      int64 `json:"for_seconds"`
		ReadyFor int64 `json:"ready_for_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Status(v.plain)
	s.Since, s.ReadyFor = time.Duration(v.For)*time.Second, time.Duration(v.ReadyFor)*time.Second
	return nil
}

// State is "up" or "down".
func (s Status) State() string {
	if s.Up {
		return "up"
	}
	return "down"
}

// statusFields is the -o argument; ParseStatus expects exactly these.
var statusFields = []string{"up", "wantedup", "normallyup", "ready", "paused", "pid", "exitcode", "signum", "updownfor", "readyfor"}

// ParseStatus reads one line of `s6-svstat -o up,wantedup,normallyup,ready,paused,pid,exitcode,signum,updownfor,readyfor`.
func ParseStatus(line string) (Status, error) {
	f := strings.Fields(line)
	if len(f) != len(statusFields) {
		return Status{}, fmt.Errorf("%w: s6-svstat gave %d fields, want %d: %q", ErrBadOutput, len(f), len(statusFields), line)
	}
	var s Status
	var err error
	flag := func(i int, dst *bool) {
		if err != nil {
			return
		}
		switch f[i] {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			err = fmt.Errorf("%w: s6-svstat %s is %q, want true or false", ErrBadOutput, statusFields[i], f[i])
		}
	}
	num := func(i, min int) int {
		if err != nil {
			return 0
		}
		n, e := strconv.Atoi(f[i])
		if e != nil || n < min {
			err = fmt.Errorf("%w: s6-svstat %s is %q, want an integer >= %d", ErrBadOutput, statusFields[i], f[i], min)
		}
		return n
	}
	flag(0, &s.Up)
	flag(1, &s.WantedUp)
	flag(2, &s.NormallyUp)
	flag(3, &s.Ready)
	flag(4, &s.Paused)
	s.Pid = num(5, -1)
	s.ExitCode = num(6, -1)
	s.Signal = num(7, -1)
	s.Since = time.Duration(num(8, 0)) * time.Second
	s.ReadyFor = time.Duration(num(9, 0)) * time.Second
	if err != nil {
		return Status{}, err
	}
	if s.ExitCode > 255 || s.Signal > 255 {
		return Status{}, fmt.Errorf("%w: s6-svstat exit code %d or signal %d out of range: %q", ErrBadOutput, s.ExitCode, s.Signal, line)
	}
	if s.Up != (s.Pid > 0) {
		return Status{}, fmt.Errorf("%w: s6-svstat up=%t with pid %d: %q", ErrBadOutput, s.Up, s.Pid, line)
	}
	if s.Pid < 0 {
		s.Pid = 0
	}
	if s.Signal < 0 {
		s.Signal = 0
	}
	if !s.Ready {
		s.ReadyFor = 0
	}
	return s, nil
}

// pollInterval is how often Status looks for supervise/status while
// s6-supervise starts.
const pollInterval = 10 * time.Millisecond

// Status reads the slot dir's status. s6-supervise writes supervise/status
// shortly after s6-svscan spawns it; Status waits for that file until ctx
// is done, so a slot published a moment ago reads correctly.
func (t *Tools) Status(ctx context.Context, dir string) (Status, error) {
	if err := checkSlot(dir); err != nil {
		return Status{}, err
	}
	if err := waitStatusFile(ctx, dir); err != nil {
		return Status{}, err
	}
	out, err := t.run(ctx, dir, "s6-svstat", "-o", strings.Join(statusFields, ","), dir)
	if err != nil {
		return Status{}, err
	}
	s, err := ParseStatus(strings.TrimSpace(string(out)))
	if err != nil {
		return Status{}, fmt.Errorf("s6: %s: %w", dir, err)
	}
	return s, nil
}

// checkSlot tells a missing slot from other failures.
func checkSlot(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("s6: %w: %s", ErrNoSlot, dir)
	case err != nil:
		return pathError("stat", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("s6: %w: %s is not a directory", ErrNoSlot, dir)
	}
	return nil
}

// StartWait is how long Status and Control wait for a freshly scanned
// slot's s6-supervise to write supervise/status before deciding that s6 is
// not running.
const StartWait = 3 * time.Second

func waitStatusFile(ctx context.Context, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, StartWait)
	defer cancel()
	p := filepath.Join(dir, "supervise", "status")
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		_, err := os.Stat(p)
		if err == nil {
			return nil
		}
		if errors.Is(err, os.ErrPermission) {
			return pathError("read status", p, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w on %s: no %s; start s6-svscan (or `supervisor init`) on the scan directory", ErrNotRunning, filepath.Dir(dir), p)
		case <-tick.C:
		}
	}
}
