package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// Status is what an operator sees of one gateway: s6's view of its slot
// and what the volume records.
type Status struct {
	Profile      string     `json:"profile"`
	Registered   bool       `json:"registered"`          // the slot exists in the scan directory
	S6           *s6.Status `json:"s6,omitempty"`        // nil when unregistered or unreadable
	NeverRan     bool       `json:"never_ran,omitempty"` // s6 has not run it since its supervisor started: S6's exit code means nothing
	S6Error      string     `json:"s6_error,omitempty"`  // why S6 is nil although registered
	GatewayState string     `json:"gateway_state"`       // as persisted; "" = none
	DesiredState string     `json:"desired_state"`
	UpdatedAt    *time.Time `json:"updated_at,omitempty"`
	Reason       string     `json:"reason,omitempty"`      // of the last change of the state file
	Policy       string     `json:"policy,omitempty"`      // that decided it
	StateError   string     `json:"state_error,omitempty"` // the state file is unreadable
	// Notes are what else an operator should know, one line each: a
	// profile.toml that cannot be used, a policy module that is refused (so
	// the native fallback decides), a policy that stopped the gateway for
	// good.
	Notes []string `json:"notes,omitempty"`
}

// FallbackIdentity is how the state file names the native fallback when
// it decided because the module failed (policy.FallbackIdentity; this
// package asks no policy).
const FallbackIdentity = "fallback@native"

// Status reads one gateway's status. It works whatever the profile's
// profile.toml says (a problem with it is a note), and s6 errors (not
// running, permission) are reported in the Status, not as an error: the
// persisted part is still worth showing.
func (o *Ops) Status(ctx context.Context, name string) (Status, error) {
	return o.status(ctx, name, modules{})
}

func (o *Ops) status(ctx context.Context, name string, mods modules) (Status, error) {
	t, err := o.resolveLenient(name)
	if err != nil {
		return Status{}, err
	}
	st := Status{Profile: name}
	f, err := state.Read(t.paths.State)
	if err != nil {
		st.StateError = err.Error()
	}
	st.GatewayState, st.DesiredState, st.Reason, st.Policy = f.GatewayState, f.DesiredState, f.Reason, f.Policy
	if since := f.Since(); !since.IsZero() {
		st.UpdatedAt = &since
	}
	switch {
	case t.orphan:
		st.Notes = append(st.Notes, NoteOrphan)
	case t.configErr != nil:
		st.Notes = append(st.Notes, t.configErr.Error())
	}
	if n := mods.note(t.config); n != "" {
		st.Notes = append(st.Notes, n)
	}
	st.Notes = append(st.Notes, stateNotes(f, name)...)
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
	if !s.Up {
		if n, err := o.Tools.Deaths(ctx, t.slot); err == nil && n == 0 {
			st.NeverRan = true
		}
	}
	return st, nil
}

// stateNotes are what the state file says an operator must act on.
func stateNotes(f state.File, name string) []string {
	var out []string
	switch {
	case f.Policy == FallbackIdentity:
		out = append(out, fmt.Sprintf("the last decision was made by the native fallback because the policy module failed: see `supervisor -p %s explain`", name))
	case f.Gateway() == hostabi.StateStartupFailed:
		out = append(out, fmt.Sprintf("could not start: %s", f.Reason))
	case f.Trigger == hostabi.TriggerExited.String() && f.Gateway() == hostabi.StateStopped && f.Policy != "":
		out = append(out, fmt.Sprintf("stopped for good by policy %s: %s; `supervisor -p %s gateway reset` clears its crash history, then `gateway start` starts it", f.Policy, f.Reason, name))
	}
	return out
}

// StatusAll reads the status of every profile (see Profiles), the root
// profile first. Directories under profiles/ that are not usable profiles
// are returned as problems.
func (o *Ops) StatusAll(ctx context.Context) ([]Status, []profile.Problem, error) {
	names, problems, err := o.ListProfiles()
	if err != nil {
		return nil, nil, err
	}
	mods := modules{}
	out := make([]Status, 0, len(names))
	for _, n := range names {
		st, err := o.status(ctx, n, mods)
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

// modules remembers, for one status call, the sha256 (or the read error)
// of each policy module file, so that profiles sharing a module read it
// once.
type modules map[string]moduleSum

type moduleSum struct {
	digest string
	err    error
}

// note says why the module c configures would be refused before it is
// compiled: it cannot be read, or it does not match its pin. The ABI and
// the exports are checked by `supervisor config check`, which compiles it.
func (m modules) note(c config.Config) string {
	path := c.Policy.Module
	if path == "" {
		return ""
	}
	sum, ok := m[path]
	if !ok {
		sum.digest, sum.err = digestFile(path)
		m[path] = sum
	}
	then := "the native fallback makes its decisions"
	if c.Policy.OnError == config.OnErrorFail {
		then = "its gateway cannot start (policy.on_error = \"fail\")"
	}
	switch {
	case sum.err != nil:
		return fmt.Sprintf("policy module %s cannot be read (%v): %s", path, unwrapPath(sum.err), then)
	case c.Policy.SHA256 != "" && c.Policy.SHA256 != sum.digest:
		return fmt.Sprintf("policy module %s does not match policy.sha256 (pinned %s, the file has %s): %s", path, short(c.Policy.SHA256), short(sum.digest), then)
	}
	return ""
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "…"
	}
	return digest
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// maxModule bounds what digestFile reads (policy.MaxModuleSize).
const maxModule = 64 << 20

// digestFile is the sha256 of a module file, read the way the policy host
// reads it: a regular file, opened without blocking on a FIFO.
func digestFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	if fi.Size() > maxModule {
		return "", fmt.Errorf("%d bytes, more than %d", fi.Size(), maxModule)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxModule)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
