package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// ReasonReset is the reason recorded in the state file by Reset.
const ReasonReset = "crash history cleared by an operator (gateway reset)"

// Cleared is what Reset cleared.
type Cleared struct {
	Exits        int       // records removed from the exit history
	RestartDelay time.Time // the deferred restart that was dropped; zero when none
	Warnings     []error   // what could not be cleared, never fatal
}

// Reset clears a profile's crash history, as `systemctl reset-failed`
// does for a unit: the exit history the policy counts crashes in, a
// restart delay deferred to the next start, and s6's death tally of the
// slot. The state file keeps its states, with ReasonReset as its reason and
// no deciding policy, so that status no longer reports a policy's
// give-up. Reset starts nothing: `gateway start` does, and the policy then
// starts from a clean slate. Like Stop, it works whatever the profile's
// profile.toml says.
func (o *Ops) Reset(ctx context.Context, name string) (Cleared, error) {
	var out Cleared
	t, err := o.resolveLenient(name)
	if err != nil {
		return out, err
	}
	hist, _ := state.ReadHistory(t.paths.History)
	lk, err := state.LockFile(t.paths.History, state.LockTimeout)
	if err != nil {
		return out, err
	}
	err = volume.Remove(t.paths.History)
	lk.Unlock()
	switch {
	case err == nil:
		out.Exits = len(hist)
	case !errors.Is(err, os.ErrNotExist):
		return out, fsError("clear the exit history", t.paths.History, err)
	}
	if led, ok, _ := state.ReadLedger(t.paths.Ledger); ok && !led.RestartNotBefore.IsZero() {
		if err := state.DeferRestart(t.paths.Ledger, time.Time{}); err != nil {
			return out, err
		}
		out.RestartDelay = led.RestartNotBefore
	}
	if f, err := state.Read(t.paths.State); err == nil && f.Present {
		c := state.Change{Reason: ReasonReset, Undecided: true}
		if _, err := state.Update(t.paths.State, func(f *state.File) error { return c.Apply(f, o.now()) }); err != nil {
			return out, err
		}
	}
	if ok, _ := slotExists(t); ok {
		if scanning, _ := s6.Scanning(t.config.Scandir); scanning {
			if err := o.Tools.ClearDeaths(ctx, t.slot); err != nil {
				out.Warnings = append(out.Warnings, fmt.Errorf("s6's death tally of %s was not cleared: %w", t.slot, err))
			}
		}
	}
	return out, nil
}
