package ops

import (
	"context"
	"errors"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// Status is what an operator sees of one gateway: s6's view of its slot
// and what the volume records.
type Status struct {
	Profile      string     `json:"profile"`
	Registered   bool       `json:"registered"`         // the slot exists in the scan directory
	S6           *s6.Status `json:"s6,omitempty"`       // nil when unregistered or unreadable
	S6Error      string     `json:"s6_error,omitempty"` // why S6 is nil although registered
	GatewayState string     `json:"gateway_state"`      // as persisted; "" = none
	DesiredState string     `json:"desired_state"`
	UpdatedAt    *time.Time `json:"updated_at,omitempty"`
	StateError   string     `json:"state_error,omitempty"` // the state file is unreadable
}

// Status reads one gateway's status. s6 errors (not running, permission)
// are reported in the Status, not as an error: the persisted part is still
// worth showing.
func (o *Ops) Status(ctx context.Context, name string) (Status, error) {
	t, err := o.resolve(name)
	if err != nil {
		return Status{}, err
	}
	st := Status{Profile: name}
	f, err := state.Read(t.paths.State)
	if err != nil {
		st.StateError = err.Error()
	}
	st.GatewayState, st.DesiredState = f.GatewayState, f.DesiredState
	if since := f.Since(); !since.IsZero() {
		st.UpdatedAt = &since
	}
	if st.Registered, err = slotExists(t); err != nil {
		st.S6Error = err.Error()
		return st, nil
	}
	if !st.Registered {
		return st, nil
	}
	if err := o.checkScanning(t.config.Scandir); err != nil {
		st.S6Error = err.Error()
		return st, nil
	}
	s, err := o.Tools.Status(ctx, t.slot)
	if err != nil {
		st.S6Error = err.Error()
		return st, nil
	}
	st.S6 = &s
	return st, nil
}

// StatusAll reads the status of every profile, the root profile first.
// Directories under profiles/ that are not usable profiles are returned as
// problems.
func (o *Ops) StatusAll(ctx context.Context) ([]Status, []profile.Problem, error) {
	names, problems, err := profile.List(o.Config.Home)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Status, 0, len(names))
	for _, n := range names {
		st, err := o.Status(ctx, n)
		if err != nil {
			if errors.Is(err, ErrNoProfile) {
				continue // deleted meanwhile
			}
			st = Status{Profile: n, StateError: err.Error()}
		}
		out = append(out, st)
	}
	return out, problems, nil
}
