// Package boot is the container-boot reconciler: for the root profile and
// every named profile it reads what the volume remembers, sweeps runtime
// files a restart made meaningless, asks the policy's boot decision,
// publishes the profile's s6 slot (down unless started) and writes one line
// per profile to logs/container-boot.log.
//
// Boot is mechanism only: whether a gateway comes back up is the policy's
// answer (supervisor/lifecycle builds its input), never decided here. One
// broken profile is an outcome with an error; the others still boot. Boot
// prints nothing: it returns a Report, which the command prints.
//
// It may import hostabi, policy, s6 and the supervisor packages; never cmd.
package boot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Actions written to the boot log.
const (
	ActionStarted    = "started"    // slot published up
	ActionRegistered = "registered" // slot published down
	ActionSkipped    = "skipped"    // no slot: the policy said skip, or the profile is broken
)

// Policies hands out the policy engine of a profile's effective
// configuration; *engine.Pool is one.
type Policies interface {
	For(ctx context.Context, c config.Config) (engine.Decider, error)
}

// Options are what Run needs.
type Options struct {
	Config   config.Config // the effective top-level configuration
	Policies Policies      // the engine of each profile's effective [policy]
	Tools    *s6.Tools
	Exe      string    // absolute path of the supervisor binary the slots exec
	Now      time.Time // the boot's time (an input, for reproducible logs)
	DryRun   bool      // compute the lines; change nothing
	// ContainerArgv is the container's main command line, which the
	// legacy migration looks at; nil reads it from /proc as upstream's
	// reconciler does (ContainerArgv).
	ContainerArgv []string
	// Getenv reads boot's environment (HERMES_GATEWAY_BOOTSTRAP_STATE,
	// HERMES_GATEWAY_NO_SUPERVISE); nil is os.Getenv.
	Getenv func(string) string
}

// Outcome is what happened to one profile.
type Outcome struct {
	Profile string
	// PriorState is the boot log's prior_state, ready for the line: the
	// intent that decided (lifecycle.PriorState), quoted when it is not a
	// plain token.
	PriorState string
	PriorExit  hostabi.PriorExit
	Action     string
	Policy     string
	Reason     string
	// Seeded is what the boot decision seeded in the state file (ABI 1.1),
	// when it seeded anything.
	Seeded   *state.Change
	Err      error   // the profile is broken (Action is skipped)
	Warnings []error // unreadable files, read as nothing known; a journal that could not be written

	existed bool // the slot was in the scan directory before this boot
}

// Line renders o as a container-boot.log line. The time is RFC 3339 in
// UTC ("Z"); upstream writes its local offset ("+0000"): both are ISO 8601.
func (o Outcome) Line(now time.Time) string {
	pol := o.Policy
	if pol == "" {
		pol = "none"
	}
	prior := o.PriorState
	if prior == "" {
		prior = "none"
	}
	return fmt.Sprintf("%s profile=%s prior_state=%s action=%s prior_exit=%s policy=%s reason=%s",
		now.UTC().Format(time.RFC3339), lifecycle.QuoteLog(o.Profile), prior, o.Action, o.PriorExit, pol, strconv.Quote(o.Reason))
}

// Report is what a boot did.
type Report struct {
	Outcomes []Outcome // one per line of the boot log, in its order
	Lines    []byte    // the boot-log lines (appended to the log unless a dry run)
	// Warnings are about the boot as a whole, never fatal: the registrar,
	// telling s6, and every directory under profiles/ that is not booted
	// and gets no line (no marker, hidden, a symlink leading to no profile,
	// profiles/default), each "not booted: profiles/NAME: why".
	Warnings []error
}

// ErrNotBooted is wrapped by the warnings about directories under
// profiles/ that boot does not boot and gives no line.
var ErrNotBooted = errors.New("not booted")

// booter is one boot in progress: the options and what the boot works
// out once and shares between its workers.
type booter struct {
	Options
	legacy    bool   // the container runs the legacy "gateway run" command
	bootstrap string // HERMES_GATEWAY_BOOTSTRAP_STATE, "" when unset or empty
	multiplex *bool  // GATEWAY_MULTIPLEX_PROFILES, when set to a recognized value
	owners    slot.Owners
	scan      *s6.Scandir // the scan directory, open while booting (nil in a dry run)
	owner     func(config.Config) (*s6.Owner, error)
	global    slot.Args // the slots' global arguments, worked out once
	gerr      error
	// volumeOwner owns the volume; what boot, as root, creates there
	// (the logs/ directory) is given to it. nil when not root.
	volumeOwner *volume.Owner
}

// Run boots every profile under the configured home and returns what
// happened to each. Its error is for the boot as a whole (no home, no scan
// directory, the boot log cannot be written); a broken profile is an
// Outcome with Err set.
//
// Lines come in upstream's order: the root profile first, then every entry
// of profiles/ that gets one, in code-point order of the names
// (profile.ScanProfiles): the profiles, and the entries upstream would
// count as profiles but this supervisor refuses (an invalid name, a
// symlink), which are skipped with their reason.
func Run(ctx context.Context, o Options) (Report, error) {
	var rep Report
	c := o.Config
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ContainerArgv == nil {
		o.ContainerArgv = ContainerArgv("/proc")
	}
	scan := profile.ScanProfiles(c.Home)
	b := &booter{Options: o, bootstrap: o.Getenv(EnvBootstrapState), multiplex: multiplexEnv(o.Getenv(EnvMultiplex)),
		legacy: lifecycle.LegacyCommand(o.ContainerArgv, o.Getenv(EnvNoSupervise))}
	if !o.DryRun {
		if err := CheckVolume(c.Home); err != nil {
			return rep, err
		}
		if err := os.MkdirAll(c.Scandir, 0o755); err != nil {
			return rep, fmt.Errorf("boot: create scan directory %s: %w", c.Scandir, err)
		}
		var err error
		if b.scan, err = o.Tools.OpenScandir(c.Scandir); err != nil {
			return rep, fmt.Errorf("boot: %w", err)
		}
		defer b.scan.Close()
	}
	root := os.Geteuid() == 0
	if root {
		if fi, err := os.Stat(c.Home); err == nil {
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
				b.volumeOwner = &volume.Owner{UID: int(st.Uid), GID: int(st.Gid)}
			}
		}
	}
	b.owner = func(c config.Config) (*s6.Owner, error) { return slot.OwnerFor(c, root, b.owners.Lookup) }
	b.global, b.gerr = slot.Global(c, o.Exe) // on error, each profile reports it
	if scan.NotListed != nil {
		rep.Warnings = append(rep.Warnings, fmt.Errorf("%w: %w", ErrNotBooted, scan.NotListed))
	}
	names := []string{profile.Root}
	for _, e := range scan.Entries {
		if e.Kind == profile.KindProfile {
			names = append(names, e.Name)
		}
	}
	booted := b.all(ctx, names)
	rep.Outcomes = append(rep.Outcomes, booted[0])
	next := 1
	for _, e := range scan.Entries {
		switch e.Kind {
		case profile.KindProfile:
			rep.Outcomes = append(rep.Outcomes, booted[next])
			next++
		case profile.KindRefused:
			p := e.Problem()
			rep.Outcomes = append(rep.Outcomes, Outcome{Profile: e.Name, PriorState: "none", Action: ActionSkipped, Err: p, Reason: p.Error()})
		default:
			rep.Warnings = append(rep.Warnings, fmt.Errorf("%w: profiles/%s: %w", ErrNotBooted, lifecycle.QuoteLog(e.Name), e.Err))
		}
	}
	rep.Lines = make([]byte, 0, 160*len(rep.Outcomes))
	for _, out := range rep.Outcomes {
		rep.Lines = append(rep.Lines, out.Line(o.Now)...)
		rep.Lines = append(rep.Lines, '\n')
	}
	if o.DryRun {
		return rep, nil
	}
	if err := b.publishRegistrar(ctx); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Errorf("registrar: %w", err))
	}
	if ok, _ := s6.Scanning(c.Scandir); ok {
		if err := o.Tools.Rescan(ctx, c.Scandir, false); err != nil {
			rep.Warnings = append(rep.Warnings, err)
		}
		// A slot that existed already (boot run again under a live s6)
		// keeps its supervisor, which does not read the down file again:
		// ask it to start.
		for _, out := range rep.Outcomes {
			if out.Action == ActionStarted && out.existed {
				dir := filepath.Join(c.Scandir, slot.Name(out.Profile))
				if err := o.Tools.Control(ctx, dir, s6.Up, 0); err != nil {
					rep.Warnings = append(rep.Warnings, fmt.Errorf("profile %s: %w", out.Profile, err))
				}
			}
		}
	}
	w, err := AppendLog(profile.BootLog(c.Home), rep.Lines, b.volumeOwner, o.Now)
	if w != nil {
		rep.Warnings = append(rep.Warnings, w)
	}
	return rep, err
}

// bootWorkers is how many profiles boot at once: one more than there are
// cores, so that a worker waiting in the kernel (booting is small file
// operations) leaves no core idle. On 2 cores, 2 to 4 workers measured
// about twice as fast as one, on a restart and on a first boot alike; the
// scan directory's lock serialises only the renames into it.
var bootWorkers = min(4, 1+runtime.GOMAXPROCS(0))

// all boots the profiles, bootWorkers at a time; the outcomes keep the
// order of names, so the boot log reads the same whatever the timing.
func (b *booter) all(ctx context.Context, names []string) []Outcome {
	outs := make([]Outcome, len(names))
	workers := min(bootWorkers, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				outs[i] = b.one(ctx, names[i])
			}
		})
	}
	wg.Wait()
	return outs
}

func (b *booter) one(ctx context.Context, name string) Outcome {
	out := Outcome{Profile: name, PriorState: "none", Action: ActionSkipped}
	fail := func(err error) Outcome {
		out.Action, out.Err, out.Reason = ActionSkipped, err, err.Error()
		return out
	}
	p, err := profile.For(b.Config.Home, name)
	if err != nil {
		return fail(err)
	}
	c, err := b.Config.ForProfile(p.Config)
	if err != nil {
		return fail(err)
	}
	f := state.ReadFacts(p) // an earlier supervisor's ledger is read where it is
	out.PriorState, out.PriorExit = b.priorState(f.State, state.Change{}, false), lifecycle.PriorExit(f)
	out.Warnings = append(out.Warnings, f.Warnings...)
	if !b.DryRun {
		if readOnly(p.Dir) {
			return fail(fmt.Errorf("boot: profile directory %s is on a read-only file system: its state could not be recorded, so its gateway is not started; remount it read-write and run boot again: %w", p.Dir, ErrReadOnly))
		}
		if _, err := state.MigrateLedger(p.GatewayLedger, p.Ledger); err != nil {
			out.Warnings = append(out.Warnings, err)
		}
		if _, err := state.Sweep(p, b.Now, state.DefaultMarkerTTL); err != nil {
			return fail(err)
		}
	}
	params, err := b.params(c)
	if err != nil {
		return fail(err)
	}
	in := lifecycle.BootInput(b.Now, name, f, lifecycle.Container{LegacyCommand: b.legacy, Params: params})
	pol, err := b.Policies.For(ctx, c)
	if err != nil {
		return fail(err)
	}
	res, err := pol.Decide(ctx, &in)
	if err != nil { // on_error = "fail": the module failed this decision
		return fail(fmt.Errorf("boot: policy: %w", err))
	}
	out.Policy, out.Reason = res.DecidedBy(), res.Decision.Reason
	if seed, ok := lifecycle.BootSeed(res.Decision, res.DecidedBy()); ok {
		out.Seeded = &seed
		out.PriorState = b.priorState(f.State, seed, true)
		if !b.DryRun {
			if err := b.seed(p, seed); err != nil {
				return fail(err)
			}
		}
	}
	switch res.Decision.Action {
	case hostabi.ActionStart:
		out.Action = ActionStarted
	case hostabi.ActionDown:
		out.Action = ActionRegistered
	case hostabi.ActionSkip:
		out.Action = ActionSkipped
		if !b.DryRun {
			out.Warnings = append(out.Warnings, b.record(p, c, pol, in, res, out.Action)...)
		}
		return out
	default:
		return fail(fmt.Errorf("boot: policy answered %s, not start, down or skip", res.Decision.Action))
	}
	if b.DryRun {
		return out
	}
	if b.gerr != nil {
		return fail(b.gerr)
	}
	owner, err := b.owner(c)
	if err != nil {
		return fail(err)
	}
	s, err := slot.Gateway(c, p, b.global, owner, out.Action != ActionStarted)
	if err != nil {
		return fail(err)
	}
	if err := slot.PrepareLog(s); err != nil {
		return fail(err)
	}
	if out.existed, err = b.scan.Publish(s); err != nil {
		return fail(err)
	}
	out.Warnings = append(out.Warnings, b.record(p, c, pol, in, res, out.Action)...)
	return out
}

// priorState is the boot log's prior_state for the state file f (or the
// seed, when seeded), quoted for the line.
func (b *booter) priorState(f state.File, seed state.Change, seeded bool) string {
	v := lifecycle.PriorState(f, seed, seeded)
	if !seeded && !f.Unreadable && (f.DesiredSet() || f.GatewaySet()) {
		return lifecycle.QuoteLog(v, "none") // a recorded "none" is not the absence of a state
	}
	return lifecycle.QuoteLog(v)
}

// params are the policy parameters of the profile's effective
// configuration c, with those boot's environment sets over them:
// bootstrap_state from HERMES_GATEWAY_BOOTSTRAP_STATE, multiplex_profiles
// from GATEWAY_MULTIPLEX_PROFILES.
func (b *booter) params(c config.Config) (hostabi.Params, error) {
	ps, err := hostabi.ParamsFromMap(c.Policy.Params)
	if err != nil {
		return nil, fmt.Errorf("config: policy.params: %w", err)
	}
	var set []hostabi.Param
	if b.bootstrap != "" {
		set = append(set, hostabi.Param{Key: hostabi.ParamBootstrapState, Type: hostabi.ParamString, Str: b.bootstrap})
	}
	if b.multiplex != nil {
		set = append(set, hostabi.Param{Key: fallback.ParamMultiplex, Type: hostabi.ParamBool, Bool: *b.multiplex})
	}
	if len(set) == 0 {
		return ps, nil
	}
	out := make(hostabi.Params, 0, len(ps)+len(set))
	for _, p := range ps {
		if !slices.ContainsFunc(set, func(s hostabi.Param) bool { return s.Key == p.Key }) {
			out = append(out, p)
		}
	}
	out = append(out, set...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// multiplexEnv reads GATEWAY_MULTIPLEX_PROFILES as hermes' own gateway
// configuration does: 1, true, yes, on (any case, surrounding blanks
// ignored) is true; 0, false, no, off is false; anything else, blank
// included, is no override (nil): hermes.toml's multiplex_profiles stands.
func multiplexEnv(v string) *bool {
	t, f := true, false
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return &t
	case "0", "false", "no", "off":
		return &f
	}
	return nil
}

// seed writes what the boot decision seeded into the profile's state file
// (read-modify-write under its lock, as every update), and gives the file
// and its lock to the owner of the profile directory when boot runs as
// root, as upstream's image gives its seeded file to the hermes user.
func (b *booter) seed(p profile.Paths, c state.Change) error {
	if _, err := state.Set(p.State, c, b.Now); err != nil {
		return fmt.Errorf("boot: seed the state: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := volume.Lstat(p.Dir)
	if err != nil {
		return nil
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		for _, f := range []string{p.State, p.State + ".lock"} {
			if err := volume.Lchown(f, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("boot: seed the state: %w", err)
			}
		}
	}
	return nil
}

// record appends the boot decision to the profile's decision journal, once
// the slot is published. A failure is a warning, never a failed boot.
func (b *booter) record(p profile.Paths, c config.Config, pol engine.Decider, in hostabi.Input, res policy.Result, outcome string) []error {
	e := journal.Entry{Time: in.Now, Profile: p.Name, Kind: hostabi.KindBoot, Source: journal.SourceBoot, Input: in,
		Decision: res.Decision, Policy: res.Policy, Fallback: res.Fallback, FallbackReason: res.FallbackReason, Outcome: outcome,
		Digest: res.Digest}
	if e.Input.Params == nil { // what the engine used: the profile's [policy.params]
		if ps, err := hostabi.ParamsFromMap(c.Policy.Params); err == nil {
			e.Input.Params = ps
		}
	}
	if err := journal.Append(p.Journal, e); err != nil {
		return []error{err}
	}
	return nil
}

// publishRegistrar publishes the registrar's slot, started, or removes it
// when the configuration turned the registrar off.
func (b *booter) publishRegistrar(ctx context.Context) error {
	c := b.Config
	if !c.Registrar {
		dir := filepath.Join(c.Scandir, slot.RegistrarName)
		if _, err := os.Lstat(dir); err != nil {
			return nil
		}
		if ok, _ := s6.Scanning(c.Scandir); ok {
			_ = b.Tools.Control(ctx, dir, s6.Down, 0)
		}
		return s6.Remove(c.Scandir, slot.RegistrarName)
	}
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("not published: boot runs as uid %d, and the registrar is root's", uid)
	}
	s, err := slot.Registrar(c, b.Exe)
	if err != nil {
		return err
	}
	if err := slot.PrepareLog(s); err != nil {
		return err
	}
	_, err = b.scan.Publish(s)
	return err
}

// ErrReadOnly is wrapped when the volume, or a profile's directory on it,
// is on a read-only file system.
var ErrReadOnly = errors.New("read-only file system")

// CheckVolume fails with ErrReadOnly when home is on a read-only file
// system. Boot then does nothing at all: a gateway started there could
// record neither its state nor, at shutdown, the decision that must
// survive the restart, and the boot log could not say why it is down.
func CheckVolume(home string) error {
	if readOnly(home) {
		return fmt.Errorf("boot: the volume %s is on a read-only file system: no state can be recorded there, so nothing was booted (no slot published, no gateway started); remount it read-write and run boot again: %w", home, ErrReadOnly)
	}
	return nil
}

// readOnly reports whether dir is on a read-only file system: access(2)
// answers EROFS for a write there, whoever asks (root included).
func readOnly(dir string) bool {
	return errors.Is(syscall.Access(dir, wOK), syscall.EROFS)
}

// wOK is access(2)'s W_OK.
const wOK = 0x2
