package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
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
// as root with a gateway user configured, the directory (and profiles/,
// when this creates it) is given to that user, who runs the gateway and
// may create profiles itself. Every file operation goes through package
// volume: a symlinked profiles/ is refused, never followed.
func (o *Ops) CreateProfile(ctx context.Context, name string) (Created, error) {
	if err := profile.ValidateName(name); err != nil {
		return Created{}, err
	}
	if name == profile.Root {
		return Created{}, fmt.Errorf("%w: %q is the root profile (%s); it always exists", ErrExists, name, o.Config.Home)
	}
	p, err := profile.For(o.Config.Home, name)
	if err != nil {
		return Created{}, err
	}
	if profile.Exists(o.Config.Home, name) {
		return Created{Dir: p.Dir}, fmt.Errorf("%w: %s", ErrExists, p.Dir)
	}
	var owner *volume.Owner
	if os.Geteuid() == 0 && o.Config.Gateway.User != "" {
		s6o, err := slot.LookupOwner(o.Config.Gateway.User)
		if err != nil {
			return Created{}, err
		}
		owner = &volume.Owner{UID: s6o.UID, GID: s6o.GID}
	}
	profiles := filepath.Dir(p.Dir)
	if err := volume.MkdirAll(profiles, 0o755, owner); err != nil {
		return Created{}, fsError("create", profiles, err)
	}
	sweepDeleted(profiles)
	if err := volume.Mkdir(p.Dir, 0o755); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return Created{}, fsError("create profile directory", p.Dir, err)
		}
		// A directory that is not a profile yet: adopt it only when empty.
		if ents, rerr := volume.ReadDir(p.Dir); rerr != nil || len(ents) > 0 {
			return Created{Dir: p.Dir}, fmt.Errorf("%s exists and is not an empty directory, nor a profile (no profile.toml or SOUL.md): remove it, or add a profile.toml to make it one", p.Dir)
		}
	}
	if err := state.WriteAtomic(p.Config, []byte(profileTOML), 0o644); err != nil {
		return Created{}, fsError("write", p.Config, err)
	}
	if owner != nil {
		for _, f := range []string{p.Dir, p.Config} {
			if err := volume.Lchown(f, owner.UID, owner.GID); err != nil {
				return Created{}, fsError("give to "+o.Config.Gateway.User, f, err)
			}
		}
	}
	c, err := o.Config.ForProfile(p.Config)
	if err != nil {
		return Created{}, err
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

// deletedPrefix starts the name a deleted profile's directory is renamed
// to before it is removed (a dot entry: never listed as a profile).
const deletedPrefix = ".deleted-"

// DeleteProfile removes a stopped profile: its slot (s6 forgets it) and its
// directory with everything in it. A gateway that is up is refused. The
// directory is first renamed aside in one step, then removed: a delete
// killed half-way leaves no half-deleted profile under the name, only a
// dot entry that the next create or delete removes.
func (o *Ops) DeleteProfile(ctx context.Context, name string) error {
	if name == profile.Root {
		return fmt.Errorf("%q is the root profile; it cannot be deleted", name)
	}
	t, err := o.resolveLenient(name)
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
				return fmt.Errorf("gateway '%s' is %s: stop it first with `supervisor -p %s gateway stop`", name, st.State(), name)
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
	profiles := filepath.Dir(t.paths.Dir)
	aside := filepath.Join(profiles, deletedPrefix+name+"-"+strconv.FormatInt(o.now().UnixNano(), 36))
	if err := volume.Rename(t.paths.Dir, aside); err != nil {
		if t.orphan && errors.Is(err, os.ErrNotExist) {
			return nil // only its slot was left, and it is gone now
		}
		return fsError("remove", t.paths.Dir, err)
	}
	if err := volume.RemoveAll(aside); err != nil {
		return fsError("remove", aside, err)
	}
	sweepDeleted(profiles)
	return nil
}

// sweepDeleted removes what deletes killed half-way left in profiles/.
func sweepDeleted(profiles string) {
	ents, err := volume.ReadDir(profiles)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), deletedPrefix) && e.IsDir() {
			_ = volume.RemoveAll(filepath.Join(profiles, e.Name()))
		}
	}
}

// ListProfiles returns the profile names, the root profile first (see
// Profiles), and the directories under profiles/ that are not usable
// profiles.
func (o *Ops) ListProfiles() ([]string, []profile.Problem, error) {
	ps, problems, err := o.Profiles()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names, problems, err
}

// Profile is one profile as an operator lists it.
type Profile struct {
	Name       string `json:"name"`
	Dir        string `json:"dir"`
	Registered bool   `json:"registered"`     // its slot is in the scan directory
	Note       string `json:"note,omitempty"` // what is wrong with it, if anything
}

// NoteOrphan is the note of a profile whose slot s6 still has although its
// directory holds no profile.toml or SOUL.md any more.
const NoteOrphan = "not a profile any more (no profile.toml or SOUL.md), but s6 still has its slot"

// Profiles returns the profiles, the root profile first, then the named
// ones by name: those on the volume, and those whose slot s6 still has
// although their directory is no profile any more (its profile.toml was
// removed while the gateway ran), so that an operator can still see, stop
// and delete them. Directories under profiles/ that are not usable
// profiles are returned as problems.
func (o *Ops) Profiles() ([]Profile, []profile.Problem, error) {
	names, problems, err := profile.List(o.Config.Home)
	if err != nil {
		return nil, nil, err
	}
	slots := o.slotNames()
	out := make([]Profile, 0, len(names))
	seen := map[string]bool{}
	add := func(name, note string) {
		p, err := profile.For(o.Config.Home, name)
		if err != nil {
			return
		}
		out = append(out, Profile{Name: name, Dir: p.Dir, Registered: slots[name], Note: note})
		seen[name] = true
	}
	for _, n := range names {
		add(n, "")
	}
	var orphans []string
	for n := range slots {
		if !seen[n] {
			orphans = append(orphans, n)
		}
	}
	sort.Strings(orphans)
	for _, n := range orphans {
		add(n, NoteOrphan)
	}
	if len(orphans) > 0 {
		sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Name < out[1+j].Name })
	}
	return out, problems, nil
}

// slotNames are the profiles whose gateway slot is in the scan directory.
func (o *Ops) slotNames() map[string]bool {
	out := map[string]bool{}
	entries, err := os.ReadDir(o.Config.Scandir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), slot.Prefix)
		if ok && e.IsDir() && profile.ValidateName(n) == nil {
			out[n] = true
		}
	}
	return out
}

func fsError(op, path string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("permission denied on %s: %s needs root or the owner of %s", path, op, filepath.Dir(path))
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}
