// Package registrar keeps the s6 scan directory in step with the profiles
// on the volume while the container runs. It is the root half of the
// unprivileged operator path: the gateway user creates a profile on the
// volume (which it owns), and the registrar, running as root, publishes
// the profile's slot (down) into the scan directory (which stays root's),
// and removes the slot of a profile that was deleted and is down.
//
// The registrar only writes slots it renders itself, through the same code
// as boot (package slot, s6 Publish), from profile names it validated:
// nothing the gateway user writes is ever executed as root. A profile
// whose profile.toml would change the user its gateway runs as, or run it
// as root, is refused.
//
// It may import s6, supervisor/slot, supervisor/config and
// supervisor/profile; never cmd, policy, boot or ops.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
)

// Defaults of Options.
const (
	// DefaultInterval is the period of the full pass that backs up the
	// file-system watch (a missed event, a watch that could not be set).
	DefaultInterval = 5 * time.Second
	// DefaultDebounce gathers a burst of events (mkdir, then profile.toml)
	// into one pass.
	DefaultDebounce = 50 * time.Millisecond
)

// Options are what Run needs.
type Options struct {
	Config   config.Config // the top-level configuration
	Tools    *s6.Tools
	Exe      string        // absolute path of the supervisor binary the slots exec
	Logger   *slog.Logger  // one record per event worth telling; nil = discard
	Interval time.Duration // 0 = DefaultInterval
	Debounce time.Duration // 0 = DefaultDebounce
	// Ready is called once, after the first pass.
	Ready func()
}

// Registrar reconciles the scan directory with the profiles. Pass does it
// once; Run does it on every change until its context ends.
type Registrar struct {
	o    Options
	seen map[string]bool // problems logged in the previous pass
	now  map[string]bool // problems of the pass in progress
}

// New returns a registrar for o.
func New(o Options) *Registrar {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Tools == nil {
		o.Tools = &s6.Tools{BinDir: o.Config.S6BinDir}
	}
	return &Registrar{o: o, seen: map[string]bool{}}
}

// Report is what one pass did.
type Report struct {
	Published []string // slots published (down)
	Removed   []string // slots removed
}

// Pass publishes the slot of every profile that has none and removes the
// slot of every profile that is gone and whose gateway is down, then tells
// s6-svscan. Problems (a bad profile, a slot it may not touch) are logged
// once while they last, never returned: the other profiles still get
// their slots. Its error is for the pass as a whole (the home or the scan
// directory cannot be read).
func (r *Registrar) Pass(ctx context.Context) (Report, error) {
	var rep Report
	r.now = map[string]bool{}
	defer func() { r.seen, r.now = r.now, nil }()
	c := r.o.Config
	names, problems, err := profile.List(c.Home)
	if err != nil {
		r.problem(err.Error())
		return rep, fmt.Errorf("registrar: %w", err)
	}
	for _, p := range problems {
		r.problem(p.Error() + "; not registered")
	}
	slots, err := r.slots()
	if err != nil {
		r.problem(err.Error())
		return rep, err
	}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
		if slots[n] {
			continue
		}
		if err := r.publish(n); err != nil {
			r.problem(fmt.Sprintf("profile %s: %v", n, err))
			continue
		}
		rep.Published = append(rep.Published, slot.Name(n))
	}
	scanning, _ := s6.Scanning(c.Scandir)
	if len(rep.Published) > 0 && scanning {
		if err := r.o.Tools.Rescan(ctx, c.Scandir, false); err != nil {
			r.problem(err.Error())
		}
	}
	var gone []string
	for n := range slots {
		if !exists[n] {
			gone = append(gone, n)
		}
	}
	sort.Strings(gone)
	for _, n := range gone {
		removed, err := r.remove(ctx, n, scanning)
		if err != nil {
			r.problem(fmt.Sprintf("slot %s: %v", slot.Name(n), err))
			continue
		}
		if removed {
			rep.Removed = append(rep.Removed, slot.Name(n))
		}
	}
	if len(rep.Removed) > 0 && scanning {
		if err := r.o.Tools.Rescan(ctx, c.Scandir, true); err != nil {
			r.problem(err.Error())
		}
	}
	for _, s := range rep.Published {
		r.o.Logger.Info("registrar: published (down)", "slot", s)
	}
	for _, s := range rep.Removed {
		r.o.Logger.Info("registrar: removed: its profile is gone", "slot", s)
	}
	return rep, nil
}

// problem logs msg unless the previous pass logged it already.
func (r *Registrar) problem(msg string) {
	if r.now != nil {
		r.now[msg] = true
	}
	if !r.seen[msg] {
		r.o.Logger.Warn("registrar: " + msg)
		r.seen[msg] = true
	}
}

// slots returns the profile names of the gateway slots in the scan
// directory. Entries that are not slot directories of a valid profile
// name are not the registrar's and are left alone.
func (r *Registrar) slots() (map[string]bool, error) {
	dir := r.o.Config.Scandir
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("registrar: read scan directory: %w", err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), slot.Prefix)
		if !ok || !e.IsDir() || profile.ValidateName(n) != nil {
			continue
		}
		out[n] = true
	}
	return out, nil
}

// ErrRefused is wrapped when a profile's settings would make its slot run
// something other than what the top-level configuration says.
var ErrRefused = errors.New("refused")

// publish renders the slot of profile name, as boot does, and publishes it down.
func (r *Registrar) publish(name string) error {
	top := r.o.Config
	p, err := profile.For(top.Home, name)
	if err != nil {
		return err
	}
	c, err := top.ForProfile(p.Config)
	if err != nil {
		return err
	}
	// profile.toml cannot choose its user (config refuses gateway.user
	// there), but with no user at all its command would run as root.
	if c.Gateway.User == "" && os.Geteuid() == 0 {
		return fmt.Errorf("%w: gateway.user is empty, so its gateway would run as root from a profile on the volume; register it as root (`supervisor -p %s gateway start`)",
			ErrRefused, name)
	}
	s, err := slot.For(c, p, r.o.Exe, true)
	if err != nil {
		return err
	}
	if err := slot.PrepareLog(s); err != nil {
		return err
	}
	return r.o.Tools.Publish(top.Scandir, s)
}

// remove takes the slot of a vanished profile out of the scan directory
// when its gateway is down and not wanted up. An up gateway is left alone
// (and logged): stopping it is the operator's call.
func (r *Registrar) remove(ctx context.Context, name string, scanning bool) (bool, error) {
	dir := filepath.Join(r.o.Config.Scandir, slot.Name(name))
	if scanning {
		st, err := r.o.Tools.Status(ctx, dir)
		if err != nil {
			return false, err
		}
		if st.Up || st.WantedUp {
			r.problem(fmt.Sprintf("slot %s: its profile is gone but its gateway is %s; left alone: stop it with `s6-svc -d %s`", slot.Name(name), st.State(), dir))
			return false, nil
		}
		if err := r.o.Tools.Control(ctx, dir, s6.Down, 0); err != nil {
			return false, err
		}
	}
	if err := s6.Remove(r.o.Config.Scandir, slot.Name(name)); err != nil {
		return false, err
	}
	return true, nil
}

// Run passes once, calls Ready, then passes again on every change to the
// profiles (watched with inotify) and every Interval, until ctx ends. It
// returns nil when ctx ends.
func (r *Registrar) Run(ctx context.Context) error {
	w, err := newWatcher(r.o.Config.Home)
	if err != nil {
		r.problem(fmt.Sprintf("watch %s: %v; passing every %s only", r.o.Config.Home, err, r.o.Interval))
	} else {
		defer w.close()
	}
	pass := func() {
		if w != nil {
			if err := w.sync(); err != nil {
				r.problem(fmt.Sprintf("watch: %v", err))
			}
		}
		_, _ = r.Pass(ctx)
	}
	pass()
	if r.o.Ready != nil {
		r.o.Ready()
	}
	var events <-chan struct{}
	if w != nil {
		events = w.events
	}
	tick := time.NewTicker(r.o.Interval)
	defer tick.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				r.problem(fmt.Sprintf("watch ended: %v; passing every %s only", w.err(), r.o.Interval))
				events = nil
				continue
			}
			debounce.Reset(r.o.Debounce)
		case <-debounce.C:
			pass()
		case <-tick.C:
			pass()
		}
	}
}
