package boot

import (
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// Facts are what the volume remembers of a profile, as the boot decision
// takes them.
type Facts struct {
	State     hostabi.State // gateway_state; StateNone or StateUnreadable when so
	Desired   hostabi.State
	Since     time.Time
	PriorExit hostabi.PriorExit
	History   []hostabi.ExitRecord
	Warnings  []error // unreadable files, read as "nothing known"
}

// Store reads and tidies a profile's files. StateStore is the real one.
type Store interface {
	Facts(p profile.Paths) (Facts, error)
	Sweep(p profile.Paths, now time.Time) error
}

// StateStore is the volume, through package state.
type StateStore struct{}

// Facts reads the state file, the lifecycle ledger and the exit history.
// An unreadable file is no error: it reads as nothing known, with a warning.
func (StateStore) Facts(p profile.Paths) (Facts, error) {
	var f Facts
	sf, err := state.Read(p.State)
	if err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	f.State, f.Desired, f.Since = sf.Gateway(), sf.Desired(), sf.Since()
	if f.PriorExit, err = state.PriorExit(p.Lifecycle); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	if f.History, err = state.ReadHistory(p.History); err != nil {
		f.Warnings = append(f.Warnings, err)
	}
	if len(f.History) > hostabi.MaxHistory {
		f.History = f.History[len(f.History)-hostabi.MaxHistory:]
	}
	return f, nil
}

// Sweep removes runtime files a container restart made meaningless.
func (StateStore) Sweep(p profile.Paths, now time.Time) error {
	_, err := state.Sweep(p, now, state.DefaultMarkerTTL)
	return err
}
