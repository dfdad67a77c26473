// Package ops is what an operator does to profiles and gateways: create,
// delete and list profiles; start, stop, restart gateways, read their
// status and reset their crash history. It does the mechanics in the order
// that keeps the volume truthful: a stop writes the planned-stop marker
// naming the supervised process before s6 signals it, so the gateway's
// shutdown is recognised as an operator's stop and not as a container
// restart.
//
// Stop, Status, Reset and DeleteProfile work from s6's view and the state
// files whatever the profile's profile.toml says (a broken one is a note
// in the status, never a lock-out), and on a profile whose profile.toml
// was removed while s6 still has its slot; Start and Restart need a usable
// configuration, since the gateway they start reads it. Its errors are
// written for the operator who reads them, without a package prefix.
//
// It may import hostabi, s6 and the supervisor packages but boot, runner
// and registrar; never cmd or policy (operators' commands ask no policy:
// what a stop no supervisor decided leaves is supervisor/lifecycle's).
package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// ErrNoProfile is wrapped when the named profile does not exist.
var ErrNoProfile = errors.New("no such gateway")

// ErrExists is wrapped when creating a profile that exists.
var ErrExists = errors.New("profile exists")

// DefaultWait is how long start, stop and restart wait for s6 by default.
const DefaultWait = 30 * time.Second

// Ops carries what every operation needs.
type Ops struct {
	Config config.Config
	Tools  *s6.Tools
	Exe    string           // absolute path of the supervisor binary slots exec
	Now    func() time.Time // nil = time.Now
	// Wait bounds each wait for s6 (up, down, restarted); 0 = DefaultWait
	// plus the profile's stop_grace for stops.
	Wait time.Duration
}

func (o *Ops) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// target is a resolved, existing profile.
type target struct {
	paths  profile.Paths
	config config.Config
	slot   string // slot directory
	// configErr is why the profile's profile.toml cannot be used (nil
	// when it can). A lenient resolve then carries hermes.toml's settings
	// with the valid values of profile.toml merged in.
	configErr error
	// orphan: the profile directory is no profile any more (its
	// profile.toml and SOUL.md are gone) but s6 still has its slot, or
	// the directory with its state is still there (the registrar removes
	// the slot of such a profile once it is down).
	orphan bool
}

// resolve finds an existing profile whose configuration is usable: what
// start and restart need, since the gateway they start reads it.
func (o *Ops) resolve(name string) (target, error) {
	t, err := o.resolveLenient(name)
	if err != nil {
		return target{}, err
	}
	if t.orphan {
		return target{}, noProfile(name)
	}
	if t.configErr != nil {
		return target{}, t.configErr
	}
	return t, nil
}

// resolveLenient finds a profile as s6 and the state files know it,
// whatever its profile.toml says: stop, status, reset and delete must work
// on a gateway that runs even when its profile.toml was broken or removed
// meanwhile (the problem is then in configErr or orphan). A name that is
// neither a profile on the volume nor a slot in the scan directory is
// ErrNoProfile.
func (o *Ops) resolveLenient(name string) (target, error) {
	p, err := profile.For(o.Config.Home, name)
	if err != nil {
		return target{}, err
	}
	t := target{paths: p, config: o.Config, slot: filepath.Join(o.Config.Scandir, slot.Name(name))}
	if !profile.Exists(o.Config.Home, name) {
		registered, _ := slotExists(t)
		fi, err := volume.Lstat(p.Dir) // a directory, never a link planted in its place
		if !registered && (err != nil || !fi.IsDir()) {
			return target{}, noProfile(name)
		}
		t.orphan = true
		return t, nil
	}
	c, ps := o.Config.CheckProfile(p.Config)
	t.config = c
	if len(ps) > 0 {
		t.configErr = ps[0]
	}
	return t, nil
}

func noProfile(name string) error {
	return fmt.Errorf("%w '%s': create it with `supervisor profile create %s`", ErrNoProfile, name, name)
}

func (o *Ops) wait(t target, stopping bool) time.Duration {
	if o.Wait > 0 {
		return o.Wait
	}
	if stopping {
		return DefaultWait + t.config.Gateway.StopGrace.D() + slot.StopMargin
	}
	return DefaultWait
}

// slotExists reports whether the profile's slot is in the scan directory.
func slotExists(t target) (bool, error) {
	fi, err := os.Stat(t.slot)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return fi.IsDir(), nil
}

// ensureSlot publishes the profile's slot (down) when it is missing and
// tells s6-svscan: a profile created on the volume from outside is picked
// up here.
func (o *Ops) ensureSlot(ctx context.Context, t target) error {
	ok, err := slotExists(t)
	if err != nil || ok {
		return err
	}
	if err := o.checkScanning(t.config.Scandir); err != nil {
		return err
	}
	if os.Geteuid() != 0 && syscall.Access(t.config.Scandir, unixW) != nil {
		return o.awaitRegistrar(ctx, t, nil)
	}
	s, err := slot.For(t.config, t.paths, o.Exe, true)
	if err != nil {
		return err
	}
	if err := slot.PrepareLog(s); err != nil {
		return err
	}
	if err := o.Tools.Publish(t.config.Scandir, s); err != nil {
		if errors.Is(err, s6.ErrPermission) {
			return o.awaitRegistrar(ctx, t, err)
		}
		return err
	}
	return o.Tools.Rescan(ctx, t.config.Scandir, false)
}

// unixW is access(2)'s W_OK.
const unixW = 0x2

// ErrNoRegistrar is wrapped when a slot must be registered by the
// registrar (the caller may not write the scan directory) and none runs.
var ErrNoRegistrar = errors.New("no registrar runs")

// RegistrarWait bounds how long an operator who may not publish a slot
// waits for the registrar to publish it.
const RegistrarWait = 10 * time.Second

// registrarPoll is how often the wait for the registrar looks.
const registrarPoll = 20 * time.Millisecond

// awaitRegistrar waits, at most RegistrarWait, for the registrar to
// publish t's slot. It fails at once when no registrar runs. why is the
// publishing error that sent us here, if any.
func (o *Ops) awaitRegistrar(ctx context.Context, t target, why error) error {
	name := slot.Name(t.paths.Name)
	if !o.registrarUp(ctx, t.config.Scandir) {
		if why == nil {
			why = fmt.Errorf("permission denied on %s for uid %d", t.config.Scandir, os.Geteuid())
		}
		return fmt.Errorf("cannot register %s (%v) and %w (%s is absent or down): run `supervisor -p %s gateway start` as root, or set registrar = true in hermes.toml and restart the container",
			name, why, ErrNoRegistrar, slot.RegistrarName, t.paths.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, RegistrarWait)
	defer cancel()
	tick := time.NewTicker(registrarPoll)
	defer tick.Stop()
	for {
		ok, err := slotExists(t)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			logs, _ := slot.RegistrarLogDir(t.config.Scandir)
			return fmt.Errorf("the registrar did not register %s within %s: see its log in %s", name, RegistrarWait, logs)
		case <-tick.C:
		}
	}
}

// registrarUp reports whether the registrar's slot is in the scan
// directory and s6 says it is up. When its status cannot be read, its
// slot's presence is taken for an answer: the wait that follows is bounded.
func (o *Ops) registrarUp(ctx context.Context, scandir string) bool {
	dir := filepath.Join(scandir, slot.RegistrarName)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return false
	}
	st, err := o.Tools.Status(ctx, dir)
	if errors.Is(err, s6.ErrPermission) {
		return true
	}
	return err == nil && st.Up
}

// checkScanning fails with "s6 is not running on <scandir>" when no
// s6-svscan listens there. When the caller may not look, it lets the s6
// command that follows answer.
func (o *Ops) checkScanning(scandir string) error {
	ok, err := s6.Scanning(scandir)
	if err == nil && !ok {
		return s6.NotScanning(scandir)
	}
	return nil
}

// Start records desired_state=running and brings the gateway up, waiting
// until it is up and ready.
func (o *Ops) Start(ctx context.Context, name string) error { return o.start(ctx, name, "start") }

// start is Start; verb names the command in errors (a restart of a gateway
// that is not up is a start, but the operator typed restart).
func (o *Ops) start(ctx context.Context, name, verb string) error {
	t, err := o.resolve(name)
	if err != nil {
		return err
	}
	defer tidyMarker(t)
	if err := o.checkScanning(t.config.Scandir); err != nil {
		return err
	}
	if _, err := state.Set(t.paths.State, state.Change{Desired: hostabi.StateRunning}, o.now()); err != nil {
		return err
	}
	if err := o.ensureSlot(ctx, t); err != nil {
		return err
	}
	return o.awaitUp(ctx, t, verb, o.Tools.Control(ctx, t.slot, s6.Up, o.wait(t, false)))
}

// awaitUp turns the error of a start or restart that waited for the
// gateway to come up and be ready (err, from s6) into one the operator can
// act on.
func (o *Ops) awaitUp(ctx context.Context, t target, verb string, err error) error {
	name := t.paths.Name
	if err == nil || errors.Is(err, s6.ErrTimeout) || errors.Is(err, s6.ErrPermission) || errors.Is(err, s6.ErrNotRunning) {
		return err
	}
	// s6 gave up on it before it became ready: the gateway exited and its
	// policy said to keep it down (or it keeps crashing).
	if f, ferr := state.Read(t.paths.State); ferr == nil && f.Desired() == hostabi.StateStopped {
		// Stopped on purpose while we waited: most often a
		// concurrent `gateway stop`, which records stopped first.
		return fmt.Errorf("gateway %q was stopped while this %s waited for it to become ready: desired_state is now stopped (another command stopped it, or its policy did); run `supervisor -p %s gateway start` again to start it", name, verb, name)
	}
	if st, serr := o.Tools.Status(ctx, t.slot); serr == nil && !st.Up {
		last := fmt.Sprintf("exit code %d", st.ExitCode)
		if st.Signal != 0 {
			last = fmt.Sprintf("killed by signal %d", st.Signal)
		}
		return fmt.Errorf("gateway %q did not become ready: it is down, last %s; see `supervisor -p %s gateway status` and %s", name, last, name, t.paths.Logs)
	}
	return fmt.Errorf("gateway %q did not become ready: %w", name, err)
}

// tidyMarker removes a planned-stop marker that names a process that is
// gone (or is malformed): it can never be honoured. Under concurrent
// commands a stop or restart can name a supervised process that another
// command's signal already sent into its shutdown, which never reads it.
// Start, stop and restart tidy once s6 has answered, so the last command
// leaves no such marker behind; a marker naming a live process is left to
// it. A failure to remove (another user's marker) is left to boot's sweep.
func tidyMarker(t target) {
	m, j, _ := state.ReadMarker(t.paths.Marker)
	if j == state.MarkerAbsent {
		return
	}
	if j != state.MarkerMalformed {
		if live, err := state.ProcOf(m.TargetPid); err == nil && live == m.Target() {
			return
		}
	}
	_ = os.Remove(t.paths.Marker)
}

// Stop stops the gateway as an operator: it writes the planned-stop marker
// naming the supervised process, records desired_state=stopped, then asks
// s6 to take the slot down and waits until it is down and finished.
//
// It works from s6's view and the state files whatever the profile's
// profile.toml says: a broken or removed profile.toml never locks an
// operator out of stopping a gateway that runs.
func (o *Ops) Stop(ctx context.Context, name string) error {
	t, err := o.resolveLenient(name)
	if err != nil {
		return err
	}
	defer tidyMarker(t)
	ok, err := slotExists(t)
	if err != nil {
		return err
	}
	if !ok { // never registered with s6: nothing runs; remember the intent
		_, err := state.Set(t.paths.State, state.Change{Desired: hostabi.StateStopped}, o.now())
		return err
	}
	if err := o.checkScanning(t.config.Scandir); err != nil {
		return err
	}
	st, err := o.Tools.Status(ctx, t.slot)
	if err != nil {
		return err
	}
	var mk state.Marker
	marked := false
	if st.Up {
		state.RemoveOrphans(t.paths.Marker)
		m, err := state.WriteMarkerFor(t.paths.Marker, st.Pid, state.IntentStop, o.now())
		if err != nil && !errors.Is(err, state.ErrNoProcess) {
			return err
		}
		mk, marked = m, err == nil
	}
	withdraw := func(err error) error {
		if marked {
			// A stop that failed must not leave its marker: the next
			// plain signal (a container restart) would read as this stop.
			_ = state.WithdrawMarker(t.paths.Marker, mk)
		}
		return err
	}
	if _, err := state.Set(t.paths.State, state.Change{Desired: hostabi.StateStopped}, o.now()); err != nil {
		return withdraw(err)
	}
	if err := o.Tools.Control(ctx, t.slot, s6.Down, o.wait(t, true)); err != nil {
		return withdraw(err)
	}
	return o.settleStop(t, marked, mk)
}

// ReasonStopBetweenLives is the reason recorded when an operator's stop
// found no supervisor to decide it.
const ReasonStopBetweenLives = lifecycle.ReasonStopBetweenLives

// settleStop records an operator's stop that no "supervisor run" decided
// (see lifecycle.SettleStop). A marker that was honoured means the policy
// decided, and its decision stands; so does a marker another command
// replaced.
func (o *Ops) settleStop(t target, marked bool, mk state.Marker) error {
	if marked {
		cur, j, _ := state.ReadMarker(t.paths.Marker) // MarkerHonoured: a readable marker
		if j != state.MarkerHonoured || cur.Target() != mk.Target() || !cur.WrittenAt.Equal(mk.WrittenAt) {
			return nil
		}
	}
	_, err := state.Update(t.paths.State, func(f *state.File) error {
		c, ok := lifecycle.SettleStop(*f)
		if !ok {
			return errSettled
		}
		return c.Apply(f, o.now())
	})
	if errors.Is(err, errSettled) {
		return nil
	}
	return err
}

var errSettled = errors.New("state already settled")

// Restart restarts the gateway as an operator: a restart marker naming the
// supervised process, then s6-svc -r, waiting until it is up and ready
// again. A gateway that is not up is started.
func (o *Ops) Restart(ctx context.Context, name string) error {
	t, err := o.resolve(name)
	if err != nil {
		return err
	}
	defer tidyMarker(t)
	ok, err := slotExists(t)
	if err != nil {
		return err
	}
	if !ok {
		return o.start(ctx, name, "restart")
	}
	if err := o.checkScanning(t.config.Scandir); err != nil {
		return err
	}
	st, err := o.Tools.Status(ctx, t.slot)
	if err != nil {
		return err
	}
	if !st.Up || !st.WantedUp {
		return o.start(ctx, name, "restart")
	}
	if _, err := state.Set(t.paths.State, state.Change{Desired: hostabi.StateRunning}, o.now()); err != nil {
		return err
	}
	state.RemoveOrphans(t.paths.Marker)
	mk, err := state.WriteMarkerFor(t.paths.Marker, st.Pid, state.IntentRestart, o.now())
	if err != nil && !errors.Is(err, state.ErrNoProcess) {
		return err
	}
	marked := err == nil
	if err := o.Tools.Control(ctx, t.slot, s6.Restart, o.wait(t, true)); err != nil {
		if marked {
			// A restart that failed leaves no marker behind (the process
			// it names, if s6 signalled it, has consumed it already).
			_ = state.WithdrawMarker(t.paths.Marker, mk)
		}
		return o.awaitUp(ctx, t, "restart", err)
	}
	return nil
}
