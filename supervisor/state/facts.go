package state

import (
	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// Facts are what the volume remembers of a profile, as every decision
// takes them: the state file, the lifecycle ledger and the exit history,
// read once, each unreadable file read as "nothing known" with a warning
// naming it.
type Facts struct {
	State     File
	Ledger    Ledger // zero when there is none, or it is unreadable
	PriorExit hostabi.PriorExit
	History   []hostabi.ExitRecord // oldest first, at most MaxHistory
	Warnings  []error              // unreadable files; never fatal
}

// ReadFacts reads the facts of profile p. It never fails: whatever cannot
// be read is a warning, and reads as nothing known.
func ReadFacts(p profile.Paths) Facts {
	var f Facts
	var err error
	if f.State, err = Read(p.State); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	var ok bool
	if f.Ledger, ok, err = ReadLedger(p.Lifecycle); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	f.PriorExit = priorExit(f.Ledger, ok)
	if f.History, err = ReadHistory(p.History); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	return f
}
