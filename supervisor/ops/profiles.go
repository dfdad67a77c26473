package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// profileTOML is what a new profile.toml holds: nothing but pointers to
// what it may set.
const profileTOML = `# Profile settings. Only [gateway] and [policy] may be set here; they
# override the same tables of hermes.toml for this profile. Examples:
#
# [gateway]
# stop_grace = "30s"
#
# [policy.params]
# multiplex_profiles = false
`

// Created is the result of CreateProfile.
type Created struct {
	Dir        string
	Registered bool   // its slot was published (down) to a running s6
	Note       string // why it was not, when s6 runs
}

// CreateProfile makes the profile directory with its profile.toml and,
// when s6-svscan runs on the scan directory, registers its slot down. Run
// as root with a gateway user configured, the directory is given to that
// user, who runs the gateway.
func (o *Ops) CreateProfile(ctx context.Context, name string) (Created, error) {
	if err := profile.ValidateName(name); err != nil {
		return Created{}, fmt.Errorf("ops: %w", err)
	}
	if name == profile.Root {
		return Created{}, fmt.Errorf("ops: %w: %q is the root profile (%s); it always exists", ErrExists, name, o.Config.Home)
	}
	p, err := profile.For(o.Config.Home, name)
	if err != nil {
		return Created{}, fmt.Errorf("ops: %w", err)
	}
	if profile.Exists(o.Config.Home, name) {
		return Created{Dir: p.Dir}, fmt.Errorf("ops: %w: %s", ErrExists, p.Dir)
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return Created{}, fsError("create profile directory", p.Dir, err)
	}
	if err := state.WriteAtomic(p.Config, []byte(profileTOML), 0o644); err != nil {
		return Created{}, fsError("write", p.Config, err)
	}
	c, err := o.Config.ForProfile(p.Config)
	if err != nil {
		return Created{}, err
	}
	if os.Geteuid() == 0 && c.Gateway.User != "" {
		owner, err := slot.LookupOwner(c.Gateway.User)
		if err != nil {
			return Created{}, err
		}
		for _, f := range []string{p.Dir, p.Config} {
			if err := os.Lchown(f, owner.UID, owner.GID); err != nil {
				return Created{}, fsError("give to "+c.Gateway.User, f, err)
			}
		}
	}
	out := Created{Dir: p.Dir}
	scanning, err := s6.Scanning(c.Scandir)
	if err == nil && !scanning {
		return out, nil // registered at the next boot
	}
	t := target{paths: p, config: c, slot: filepath.Join(c.Scandir, slot.Name(name))}
	if err := o.ensureSlot(ctx, t); err != nil {
		out.Note = fmt.Sprintf("slot not registered: %v", err)
		if !errors.Is(err, ErrNoRegistrar) {
			out.Note += fmt.Sprintf("; `supervisor -p %s gateway start` (as root) or the next boot registers it", name)
		}
		return out, nil
	}
	out.Registered = true
	return out, nil
}

// DeleteProfile removes a stopped profile: its slot (s6 forgets it) and its
// directory with everything in it. A gateway that is up is refused.
func (o *Ops) DeleteProfile(ctx context.Context, name string) error {
	if name == profile.Root {
		return fmt.Errorf("ops: %q is the root profile; it cannot be deleted", name)
	}
	t, err := o.resolve(name)
	if err != nil {
		return err
	}
	registered, err := slotExists(t)
	if err != nil {
		return err
	}
	if registered {
		scanning, _ := s6.Scanning(t.config.Scandir)
		if scanning {
			st, err := o.Tools.Status(ctx, t.slot)
			if err != nil {
				return err
			}
			if st.Up || st.WantedUp {
				return fmt.Errorf("ops: gateway '%s' is %s: stop it first with `supervisor -p %s gateway stop`", name, st.State(), name)
			}
		}
		err := s6.Remove(t.config.Scandir, slot.Name(name))
		switch {
		case err == nil:
		case errors.Is(err, s6.ErrPermission) && o.registrarUp(ctx, t.config.Scandir):
			// The scan directory is root's: the registrar removes the
			// slot of a profile that is gone and down.
			scanning = false
		default:
			return err
		}
		if scanning {
			if err := o.Tools.Rescan(ctx, t.config.Scandir, true); err != nil {
				return err
			}
		}
	}
	if err := os.RemoveAll(t.paths.Dir); err != nil {
		return fsError("remove", t.paths.Dir, err)
	}
	return nil
}

// ListProfiles returns the profile names, the root profile first, and the
// directories under profiles/ that are not usable profiles.
func (o *Ops) ListProfiles() ([]string, []profile.Problem, error) {
	return profile.List(o.Config.Home)
}

func fsError(op, path string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("ops: permission denied on %s: %s needs root or the owner of %s", path, op, filepath.Dir(path))
	}
	return fmt.Errorf("ops: %s %s: %w", op, path, err)
}
