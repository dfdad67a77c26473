package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The volume's files are outside input: every reader must answer with a
// value or an error naming the file, never panic, and what it accepts must
// survive being written back. Seed corpora: testdata/fuzz/<Name>/.

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"gateway_state":"running","desired_state":"stopped","timestamp":1764104400}`))
	f.Add([]byte("\xef\xbb\xbf{\"gateway_state\":\"stopped\",\"timestamp\":\"2026-11-25T21:00:00Z\",\"extra\":[1,2]}"))
	f.Add([]byte(`{"gateway_state":null,"timestamp":1e300,"updated_at":"-1","exit_code":1.5}`))
	f.Add([]byte(`{"gateway_state":" running","desired_state":"","x":[NaN,-Infinity],"pid":1,"y":"NaN"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("accepted %q but cannot write it back: %v", data, err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("wrote %q, which does not read back: %v", out, err)
		}
		if again.GatewayState != s.GatewayState || again.DesiredState != s.DesiredState ||
			again.Gateway() != s.Gateway() || again.Desired() != s.Desired() {
			t.Fatalf("states changed on a round trip: %q/%q -> %q/%q", s.GatewayState, s.DesiredState, again.GatewayState, again.DesiredState)
		}
	})
}

func FuzzParseMarker(f *testing.F) {
	f.Add([]byte(`{"target_pid":42,"target_start_time":12345,"stopper_pid":7,"written_at":"2026-11-25T21:00:00Z","intent":"stop"}`))
	f.Add([]byte(`{"target_pid":"42","target_start_time":"12345","written_at":1764104400,"intent":"restart"}`))
	f.Add([]byte(`{"target_pid":-1,"target_start_time":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMarker(data)
		if err != nil {
			return
		}
		if m.TargetPid <= 0 || m.TargetStartTime == 0 {
			t.Fatalf("accepted a marker naming no process: %+v", m)
		}
		out, err := m.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted %q but cannot write it back: %v", data, err)
		}
		again, err := ParseMarker(out)
		if err != nil {
			t.Fatalf("wrote %q, which does not read back: %v", out, err)
		}
		if again.Target() != m.Target() || again.Intent != m.Intent {
			t.Fatalf("marker changed on a round trip: %+v -> %+v", m, again)
		}
	})
}

func FuzzReadLedger(f *testing.F) {
	f.Add([]byte(`{"phase":"running","supervisor_pid":1,"supervisor_start_time":2,"started_at":"2026-11-25T21:00:00Z"}`))
	f.Add([]byte(`{"phase":"exited","exit_code":1,"signal":15}`))
	f.Add([]byte(`{"phase":"crashed"}`))
	// One directory for every input of this worker: a fresh temporary
	// directory per input made the target disk-bound (a few hundred a second).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "gateway.lifecycle.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, ok, err := ReadLedger(path)
		if err != nil {
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file or wrap ErrUnreadable: %v", err)
			}
			return
		}
		if !ok || (l.Phase != PhaseRunning && l.Phase != PhaseExited) {
			t.Fatalf("accepted a ledger with phase %q (ok %v)", l.Phase, ok)
		}
	})
}

func FuzzReadHistory(f *testing.F) {
	f.Add([]byte(`{"exits":[{"time":"2026-11-25T21:00:00Z","uptime_ms":1000,"exit_code":1,"signal":0,"trigger":"exit","verdict":"restart"}]}`))
	f.Add([]byte(`{"exits":null}`))
	f.Add([]byte(`{"exits":[{"uptime_ms":-9223372036854775808,"trigger":"bogus"}]}`))
	// One directory for every input of this worker: a fresh temporary
	// directory per input made the target disk-bound (a few hundred a second).
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "gateway.exits.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		h, err := ReadHistory(path)
		if err != nil {
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file or wrap ErrUnreadable: %v", err)
			}
			return
		}
		if len(h) > MaxHistory {
			t.Fatalf("%d records kept, more than %d", len(h), MaxHistory)
		}
	})
}

func FuzzParseStartTime(f *testing.F) {
	f.Add([]byte("1234 (sleep) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 100 18446744073709551615"))
	f.Add([]byte("1 (a) b) c) R 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 5"))
	f.Add([]byte("1 (x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseStartTime(data) // any answer, no panic
	})
}
