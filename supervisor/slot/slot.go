// Package slot renders the s6 service slots of hermes-supervisor: one
// gateway slot per profile (gateway-<name>) and the registrar's slot. It
// names them, works out the command lines that pin a slot to the
// configuration (every path absolute), resolves the gateway user, and
// bounds a stop (the slot's timeout-kill). Publishing is package s6's.
//
// Boot, the registrar and the operator commands all render slots through
// here, so a slot is the same whoever publishes it.
//
// It may import s6, supervisor/config, supervisor/profile and
// supervisor/volume; never boot,
// ops, registrar, runner, policy or cmd.
package slot

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Prefix starts the slot name of every gateway.
const Prefix = "gateway-"

// Name is the s6 slot directory of a profile.
func Name(profileName string) string { return Prefix + profileName }

// StopMargin is added to gateway.stop_grace for the slot's timeout-kill:
// the wrapper escalates to SIGKILL itself after stop_grace, and s6 only
// steps in when the wrapper cannot.
const StopMargin = 5 * time.Second

// NotifyFD is the descriptor s6 reads readiness from (notification-fd),
// which the slot's run script passes on to "supervisor run --notify-fd".
const NotifyFD = 3

// Args is the supervisor binary followed by the global flags that pin a
// slot's command to a configuration, every path absolute. Work it out once
// (Global) and render many slots with it.
type Args []string

// Global returns the global arguments of configuration c for the
// supervisor binary exe (which must be absolute).
func Global(c config.Config, exe string) (Args, error) {
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("slot: supervisor binary %q is not an absolute path", exe)
	}
	global := Args{exe}
	if c.File != "" {
		abs, err := filepath.Abs(c.File)
		if err != nil {
			return nil, fmt.Errorf("slot: %w", err)
		}
		global = append(global, "--config", abs)
	}
	home, err := filepath.Abs(c.Home)
	if err != nil {
		return nil, fmt.Errorf("slot: %w", err)
	}
	scandir, err := filepath.Abs(c.Scandir)
	if err != nil {
		return nil, fmt.Errorf("slot: %w", err)
	}
	return append(global, "--home", home, "--scandir", scandir), nil
}

// with returns a copy of a followed by more.
func (a Args) with(more ...string) []string {
	return append(append([]string(nil), a...), more...)
}

// Gateway renders the slot of profile p under configuration c (already
// merged with the profile's profile.toml). global is Global(c, exe); owner
// is the gateway user when the slot is published as root (nil otherwise);
// down registers it without starting it.
func Gateway(c config.Config, p profile.Paths, global Args, owner *s6.Owner, down bool) (s6.Slot, error) {
	if err := checkLogPath(c.Home, p.Logs); err != nil {
		return s6.Slot{}, err
	}
	scandir, err := filepath.Abs(c.Scandir)
	if err != nil {
		return s6.Slot{}, fmt.Errorf("slot: %w", err)
	}
	verdict := filepath.Join(scandir, Name(p.Name), s6.VerdictFile)
	return s6.Slot{
		Name:           Name(p.Name),
		Run:            global.with("run", "-p", p.Name, "--notify-fd", strconv.Itoa(NotifyFD), "--verdict", verdict),
		Finish:         global.with("finish", "-p", p.Name),
		User:           c.Gateway.User,
		NotificationFD: NotifyFD,
		LogDir:         p.Logs,
		Down:           down,
		TimeoutKill:    c.Gateway.StopGrace.D() + StopMargin,
		Owner:          owner,
		Verdict:        true,
	}, nil
}

// For renders the gateway slot of profile p for the supervisor binary exe,
// resolving the gateway user when this process runs as root.
func For(c config.Config, p profile.Paths, exe string, down bool) (s6.Slot, error) {
	global, err := Global(c, exe)
	if err != nil {
		return s6.Slot{}, err
	}
	owner, err := OwnerFor(c, os.Geteuid() == 0, LookupOwner)
	if err != nil {
		return s6.Slot{}, err
	}
	return Gateway(c, p, global, owner, down)
}

// OwnerFor is the owner a slot published as root gives supervise/ to: the
// configured gateway user, looked up with lookup. nil when not root or no
// user is configured.
func OwnerFor(c config.Config, root bool, lookup func(string) (*s6.Owner, error)) (*s6.Owner, error) {
	if !root || c.Gateway.User == "" {
		return nil, nil
	}
	return lookup(c.Gateway.User)
}

// checkLogPath refuses a gateway log directory reached through a symlink
// below home. The volume belongs to the gateway user, and publishing as
// root creates the log directory and gives it to that user: a symlinked
// logs/ or logs/gateways/ would make root hand out a directory elsewhere.
func checkLogPath(home, logs string) error {
	rel, err := filepath.Rel(home, logs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil // not under home: the configuration's, not the volume's
	}
	d := home
	for _, part := range strings.Split(rel, "/") {
		d = filepath.Join(d, part)
		fi, err := os.Lstat(d)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("slot: log directory %s: %w", d, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
			return fmt.Errorf("slot: log directory %s is a symlink or not a directory; replace it with a directory", d)
		}
	}
	return nil
}

// PrepareLog creates the log directory of slot s when missing, and gives
// it to the slot's owner (the gateway user, whom s6-log runs as). Beneath
// the volume (see package volume) every directory is created and given
// away through its parent's descriptor, never through a path the gateway
// user could redirect; the directories it creates above the log directory
// (logs/, logs/gateways/) go to the owner too. Call it before publishing.
func PrepareLog(s s6.Slot) error {
	if s.LogDir == "" {
		return nil
	}
	var owner *volume.Owner
	if s.Owner != nil {
		owner = &volume.Owner{UID: s.Owner.UID, GID: s.Owner.GID}
	}
	if err := volume.MkdirAll(s.LogDir, 0o750, owner); err != nil {
		return fmt.Errorf("slot: log directory: %w", err)
	}
	if owner == nil {
		return nil
	}
	fi, err := volume.Lstat(s.LogDir)
	if err != nil {
		return fmt.Errorf("slot: log directory: %w", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) == owner.UID && int(st.Gid) == owner.GID {
		return nil
	}
	if err := volume.Lchown(s.LogDir, owner.UID, owner.GID); err != nil {
		return fmt.Errorf("slot: log directory: %w", err)
	}
	return nil
}

// RegistrarName is the s6 slot of the registrar service, which keeps the
// scan directory in step with the profiles created after boot.
const RegistrarName = "hermes-registrar"

// RegistrarLogDir is where the registrar's s6-log writes: next to the scan
// directory (/run/hermes-registrar), which is root's, never on the volume,
// which belongs to the gateway user.
func RegistrarLogDir(scandir string) (string, error) {
	abs, err := filepath.Abs(scandir)
	if err != nil {
		return "", fmt.Errorf("slot: %w", err)
	}
	return filepath.Join(filepath.Dir(abs), RegistrarName), nil
}

// Registrar renders the registrar's slot: a longrun that runs
// `supervisor registrar` as root (it never drops privileges: it writes
// into the root-owned scan directory), notifying readiness after its first
// pass, with its own s6-log.
func Registrar(c config.Config, exe string) (s6.Slot, error) {
	global, err := Global(c, exe)
	if err != nil {
		return s6.Slot{}, err
	}
	logs, err := RegistrarLogDir(c.Scandir)
	if err != nil {
		return s6.Slot{}, err
	}
	return s6.Slot{
		Name:           RegistrarName,
		Run:            global.with("registrar", "--notify-fd", strconv.Itoa(NotifyFD)),
		NotificationFD: NotifyFD,
		LogDir:         logs,
		TimeoutKill:    StopMargin,
	}, nil
}

// LookupOwner resolves a user name to its uid and primary gid.
func LookupOwner(name string) (*s6.Owner, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			return nil, fmt.Errorf("gateway.user %q: no such user (create it, or set gateway.user = \"\" to run as root)", name)
		}
		return nil, fmt.Errorf("gateway.user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("gateway.user %q has a non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
	}
	o := &s6.Owner{UID: uid, GID: gid}
	ids, err := u.GroupIds() // the user's groups, as s6-setuidgid would set them
	if err != nil {
		ids = []string{u.Gid}
	}
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil {
			o.Groups = append(o.Groups, g)
		}
	}
	return o, nil
}

// Owners remembers user lookups (for one boot). Safe for concurrent use.
type Owners struct {
	mu sync.Mutex
	m  map[string]ownerResult
}

type ownerResult struct {
	o   *s6.Owner
	err error
}

// Lookup is LookupOwner, asked once per name.
func (c *Owners) Lookup(name string) (*s6.Owner, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[name]; ok {
		return r.o, r.err
	}
	o, err := LookupOwner(name)
	if c.m == nil {
		c.m = map[string]ownerResult{}
	}
	c.m[name] = ownerResult{o, err}
	return o, err
}
