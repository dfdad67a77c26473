package state

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Facts are what the volume remembers of a profile, as every decision
// takes them: the state file, the lifecycle ledgers and the exit history,
// read once, each unreadable file read as "nothing known" with a warning
// naming it. supervisor/lifecycle turns them into a decision's input.
type Facts struct {
	State File
	// StateAbsent: nothing at all is at the state file's path (not even
	// an unreadable file, a directory or a symlink).
	StateAbsent bool
	// Ledger is the supervisor's lifecycle ledger (zero when LedgerOK is
	// false: there is none, or it is unreadable). An earlier supervisor's
	// ledger at the gateway's path, not yet migrated, is read as this one.
	Ledger   Ledger
	LedgerOK bool
	// GatewayLedger is the gateway's own ledger, when its hermes release
	// keeps one.
	GatewayLedger GatewayLedger
	History       []hostabi.ExitRecord // oldest first, at most MaxHistory
	Warnings      []error              // unreadable files; never fatal
}

// ReadFacts reads the facts of profile p. It never fails: whatever cannot
// be read is a warning, and reads as nothing known.
func ReadFacts(p profile.Paths) Facts {
	var f Facts
	var err error
	if f.State, err = Read(p.State); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	if !f.State.Present && !f.State.Unreadable {
		_, lerr := volume.Lstat(p.State)
		f.StateAbsent = errors.Is(lerr, os.ErrNotExist)
	}
	if f.Ledger, f.LedgerOK, err = ReadLedger(p.Ledger); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	if old, ok := ReadOldLedger(p.GatewayLedger); ok {
		if !f.LedgerOK {
			f.Ledger, f.LedgerOK = old, true
		}
	} else {
		f.GatewayLedger = ReadGatewayLedger(p.GatewayLedger)
	}
	if f.History, err = ReadHistory(p.History); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	return f
}

// ReadLiveFacts reads what a decision during a life needs of the volume:
// the state file and the exit history. The ledgers matter only to boot
// (prior_exit), and the supervisor of a life keeps its own in memory; a
// stop decides with two reads instead of four.
func ReadLiveFacts(p profile.Paths) Facts {
	var f Facts
	var err error
	if f.State, err = Read(p.State); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	if f.History, err = ReadHistory(p.History); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	return f
}

// Warm encodes and decodes, once, each kind of file a stop writes (the
// state file, the ledger, the exit history), so that a process about to
// wait for its stop has built encoding/json's caches for their types
// beforehand: a fresh process spends as long building them as encoding.
func Warm() {
	var f File
	_ = json.Unmarshal([]byte(`{"gateway_state":"running"}`), &f.raw)
	_, _ = f.Marshal()
	l := Ledger{Phase: PhaseExited, Stopping: &Stopping{}, Verdict: &Verdict{}}
	if b, err := json.Marshal(l); err == nil {
		_ = json.Unmarshal(b, &l)
	}
	h := historyJSON{Exits: []exitJSON{{}}}
	if b, err := json.Marshal(h); err == nil {
		_ = json.Unmarshal(b, &h)
	}
}
