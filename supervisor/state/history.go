package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// MaxHistory is how many exits the history keeps (the most recent ones).
const MaxHistory = 32

// exitJSON is one exit in state/gateway.exits.json.
type exitJSON struct {
	Time     time.Time `json:"time"`
	UptimeMS int64     `json:"uptime_ms"`
	ExitCode int32     `json:"exit_code"`
	Signal   int32     `json:"signal"`
	Trigger  string    `json:"trigger"`
	Verdict  string    `json:"verdict"`
}

type historyJSON struct {
	Exits []exitJSON `json:"exits"`
}

// ReadHistory reads the exit history at path, oldest first. A missing file
// is an empty history; an unreadable one is an empty history and an error
// wrapping ErrUnreadable. Records with an unknown trigger or verdict keep
// the rest of their fields (trigger or verdict none).
func ReadHistory(path string) ([]hostabi.ExitRecord, error) {
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h historyJSON
	if err := json.Unmarshal(trimBOM(data), &h); err != nil {
		return nil, fmt.Errorf("state: %s: %w: %w", path, ErrUnreadable, err)
	}
	if len(h.Exits) > MaxHistory {
		h.Exits = h.Exits[len(h.Exits)-MaxHistory:]
	}
	out := make([]hostabi.ExitRecord, 0, len(h.Exits))
	for _, e := range h.Exits {
		r := hostabi.ExitRecord{Time: e.Time.UTC(), Uptime: time.Duration(e.UptimeMS) * time.Millisecond, ExitCode: e.ExitCode, Signal: e.Signal}
		_ = r.Trigger.UnmarshalText([]byte(e.Trigger))
		_ = r.Verdict.UnmarshalText([]byte(e.Verdict))
		out = append(out, r)
	}
	return out, nil
}

// AppendHistory adds r to the exit history at path under its lock, keeping
// the last MaxHistory records. An unreadable history is replaced.
func AppendHistory(path string, r hostabi.ExitRecord) error { return AppendHistoryVia(nil, path, r) }

// AppendHistoryVia is AppendHistory, writing through via when given (see
// Prepared).
func AppendHistoryVia(via *Prepared, path string, r hostabi.ExitRecord) error {
	if err := ensureDir(path); err != nil {
		return err
	}
	lk, err := LockFile(path, LockTimeout)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	recs, _ := ReadHistory(path)
	recs = append(recs, r)
	if len(recs) > MaxHistory {
		recs = recs[len(recs)-MaxHistory:]
	}
	h := historyJSON{Exits: make([]exitJSON, len(recs))}
	for i, r := range recs {
		h.Exits[i] = exitJSON{Time: r.Time.UTC(), UptimeMS: r.Uptime.Milliseconds(), ExitCode: r.ExitCode, Signal: r.Signal,
			Trigger: r.Trigger.String(), Verdict: r.Verdict.String()}
	}
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("state: encode history: %w", err)
	}
	return replaceVia(via, path, append(data, '\n'), false)
}

func dirOf(path string) string { return filepath.Dir(path) }
