// Package boot is the container-boot reconciler: for the root profile and
// every named profile it reads what the volume remembers, sweeps runtime
// files a restart made meaningless, asks the policy's boot decision,
// publishes the profile's s6 slot (down unless started) and writes one line
// per profile to logs/container-boot.log.
//
// Boot is mechanism only: whether a gateway comes back up is the policy's
// answer, never decided here. One broken profile is logged and skipped; the
// others still boot.
//
// It may import hostabi, policy, s6 and the supervisor packages; never cmd.
package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// Actions written to the boot log.
const (
	ActionStarted    = "started"    // slot published up
	ActionRegistered = "registered" // slot published down
	ActionSkipped    = "skipped"    // no slot: the policy said skip, or the profile is broken
)

// Decider is the part of the policy engine boot uses.
type Decider interface {
	Decide(ctx context.Context, in *hostabi.Input) (policy.Result, error)
}

// Options are what Run needs.
type Options struct {
	Config config.Config // the effective top-level configuration
	Policy Decider       // opened once, for every profile that keeps the top-level [policy]
	// PolicyFor opens the policy of a profile whose profile.toml overrides
	// [policy]; each distinct setting is opened once per boot. nil: such a
	// profile is skipped with a reason rather than decided by the wrong module.
	PolicyFor func(ctx context.Context, c config.Config) (Decider, error)
	Tools     *s6.Tools
	Exe       string    // absolute path of the supervisor binary the slots exec
	Now       time.Time // the boot's time (an input, for reproducible logs)
	DryRun    bool      // compute and print the lines; change nothing
	Store     Store     // the volume; nil = the state package
	Stdout    io.Writer // dry-run lines
	Stderr    io.Writer // one human line per profile

	owners   *ownerCache
	policies *policyCache
	scan     *s6.Scandir // the scan directory, open while booting (nil in a dry run)
	root     bool        // boot runs as root
	global   []string    // globalArgs of Config, worked out once
	stderrMu *sync.Mutex // serialises what concurrent profiles write to Stderr
}

// globalArgs is globalArgs(c, o.Exe), without working it out again for a
// profile whose configuration keeps the paths it is made of (all do: a
// profile may not move the home or the scan directory).
func (o Options) globalArgs(c config.Config) ([]string, error) {
	if o.global != nil && c.File == o.Config.File && c.Home == o.Config.Home && c.Scandir == o.Config.Scandir {
		return o.global, nil
	}
	return globalArgs(c, o.Exe)
}

// policyCache holds the engines of profiles that override [policy].
type policyCache struct {
	mu sync.Mutex
	m  map[string]policyResult
}

type policyResult struct {
	d   Decider
	err error
}

// decider returns the policy to ask for a profile whose effective
// configuration is c.
func (o Options) decider(ctx context.Context, c config.Config) (Decider, error) {
	if reflect.DeepEqual(c.Policy, o.Config.Policy) {
		return o.Policy, nil
	}
	key := fmt.Sprintf("%#v", c.Policy) // fmt sorts map keys: a stable key
	o.policies.mu.Lock()
	defer o.policies.mu.Unlock()
	if r, ok := o.policies.m[key]; ok {
		return r.d, r.err
	}
	var r policyResult
	if o.PolicyFor == nil {
		r.err = errors.New("boot: this profile overrides [policy] and no per-profile policy can be opened")
	} else {
		r.d, r.err = o.PolicyFor(ctx, c)
	}
	o.policies.m[key] = r
	return r.d, r.err
}

// Outcome is what happened to one profile.
type Outcome struct {
	Profile    string
	PriorState hostabi.State
	PriorExit  hostabi.PriorExit
	Action     string
	Policy     string
	Reason     string
	Err        error   // the profile is broken (Action is skipped)
	Warnings   []error // unreadable files, read as nothing known

	existed bool // the slot was in the scan directory before this boot
}

// Line renders o as a container-boot.log line.
func (o Outcome) Line(now time.Time) string {
	name := o.Profile
	if profile.ValidateName(name) != nil {
		name = strconv.Quote(name)
	}
	pol := o.Policy
	if pol == "" {
		pol = "none"
	}
	return fmt.Sprintf("%s profile=%s prior_state=%s action=%s prior_exit=%s policy=%s reason=%s",
		now.UTC().Format(time.RFC3339), name, o.PriorState, o.Action, o.PriorExit, pol, strconv.Quote(o.Reason))
}

// Run boots every profile under the configured home and returns what
// happened to each. Its error is for the boot as a whole (no home, no scan
// directory, the boot log cannot be written); a broken profile is an
// Outcome with Err set.
func Run(ctx context.Context, o Options) ([]Outcome, error) {
	c := o.Config
	if o.Store == nil {
		o.Store = StateStore{}
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	names, problems, err := profile.List(c.Home)
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	if !o.DryRun {
		if err := CheckVolume(c.Home); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(c.Scandir, 0o755); err != nil {
			return nil, fmt.Errorf("boot: create scan directory %s: %w", c.Scandir, err)
		}
		if o.scan, err = o.Tools.OpenScandir(c.Scandir); err != nil {
			return nil, fmt.Errorf("boot: %w", err)
		}
		defer o.scan.Close()
	}
	outs := bootAll(ctx, o, names)
	for _, p := range problems {
		outs = append(outs, Outcome{Profile: p.Entry, Action: ActionSkipped, Err: p, Reason: p.Error()})
	}
	lines := make([]byte, 0, 160*len(outs))
	for _, out := range outs {
		for _, w := range out.Warnings {
			fmt.Fprintf(o.Stderr, "boot: warning: profile %s: %v\n", out.Profile, w)
		}
		lines = append(lines, out.Line(o.Now)...)
		lines = append(lines, '\n')
		human := out.Action
		if out.Err != nil {
			human = "skipped: " + out.Err.Error()
		} else {
			human += " (" + out.Reason + ")"
		}
		fmt.Fprintf(o.Stderr, "boot: profile %s: %s\n", out.Profile, human)
	}
	if o.DryRun {
		_, err := o.Stdout.Write(lines)
		return outs, err
	}
	if err := publishRegistrar(ctx, o); err != nil {
		fmt.Fprintf(o.Stderr, "boot: registrar: %v\n", err)
	}
	if ok, _ := s6.Scanning(c.Scandir); ok {
		if err := o.Tools.Rescan(ctx, c.Scandir, false); err != nil {
			fmt.Fprintf(o.Stderr, "boot: %v\n", err)
		}
		// A slot that existed already (boot run again under a live s6)
		// keeps its supervisor, which does not read the down file again:
		// ask it to start.
		for _, out := range outs {
			if out.Action == ActionStarted && out.existed {
				dir := filepath.Join(c.Scandir, SlotName(out.Profile))
				if err := o.Tools.Control(ctx, dir, s6.Up, 0); err != nil {
					fmt.Fprintf(o.Stderr, "boot: profile %s: %v\n", out.Profile, err)
				}
			}
		}
	}
	if err := AppendLog(profile.BootLog(c.Home), lines); err != nil {
		return outs, err
	}
	return outs, nil
}

// bootWorkers is how many profiles boot at once: one more than there are
// cores, so that a worker waiting in the kernel (booting is small file
// operations) leaves no core idle. On 2 cores, 2 to 4 workers measured
// about twice as fast as one, on a restart and on a first boot alike; the
// scan directory's lock serialises only the renames into it.
var bootWorkers = min(4, 1+runtime.GOMAXPROCS(0))

// bootAll boots the profiles, bootWorkers at a time; the outcomes keep the
// order of names, so the boot log reads the same whatever the timing.
func bootAll(ctx context.Context, o Options, names []string) []Outcome {
	outs := make([]Outcome, len(names))
	o.owners = &ownerCache{}
	if o.policies == nil {
		o.policies = &policyCache{m: map[string]policyResult{}}
	}
	o.root = os.Geteuid() == 0
	o.global, _ = globalArgs(o.Config, o.Exe) // on error, each profile reports it
	o.stderrMu = &sync.Mutex{}
	workers := min(bootWorkers, len(names))
	if workers <= 1 {
		for i, n := range names {
			outs[i] = bootOne(ctx, o, n)
		}
		return outs
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				outs[i] = bootOne(ctx, o, names[i])
			}
		})
	}
	wg.Wait()
	return outs
}

// ownerCache remembers user lookups for one boot.
type ownerCache struct {
	mu sync.Mutex
	m  map[string]ownerResult
}

type ownerResult struct {
	o   *s6.Owner
	err error
}

func (c *ownerCache) lookup(name string) (*s6.Owner, error) {
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

func bootOne(ctx context.Context, o Options, name string) Outcome {
	out := Outcome{Profile: name, Action: ActionSkipped}
	fail := func(err error) Outcome {
		out.Action, out.Err, out.Reason = ActionSkipped, err, err.Error()
		return out
	}
	p, err := profile.For(o.Config.Home, name)
	if err != nil {
		return fail(err)
	}
	c, err := o.Config.ForProfile(p.Config)
	if err != nil {
		return fail(err)
	}
	f, err := o.Store.Facts(p)
	if err != nil {
		return fail(err)
	}
	out.PriorState, out.PriorExit = f.State, f.PriorExit
	for _, w := range f.Warnings {
		out.Warnings = append(out.Warnings, w)
	}
	if !o.DryRun {
		if readOnly(p.Dir) {
			return fail(fmt.Errorf("boot: profile directory %s is on a read-only file system: its state could not be recorded, so its gateway is not started; remount it read-write and run boot again: %w", p.Dir, ErrReadOnly))
		}
		if err := o.Store.Sweep(p, o.Now); err != nil {
			return fail(err)
		}
	}
	in := &hostabi.Input{
		Kind: hostabi.KindBoot, Now: o.Now, Profile: name, Root: name == profile.Root,
		State: f.State, Desired: f.Desired, StateSince: f.Since, PriorExit: f.PriorExit, History: f.History,
	}
	pol, err := o.decider(ctx, c)
	if err != nil {
		return fail(err)
	}
	res, err := pol.Decide(ctx, in)
	if err != nil {
		return fail(fmt.Errorf("boot: policy: %w", err))
	}
	out.Policy, out.Reason = res.DecidedBy(), res.Decision.Reason
	switch res.Decision.Action {
	case hostabi.ActionStart:
		out.Action = ActionStarted
	case hostabi.ActionDown:
		out.Action = ActionRegistered
	case hostabi.ActionSkip:
		out.Action = ActionSkipped
		if !o.DryRun {
			o.record(p, c, pol, in, res, out.Action)
		}
		return out
	default:
		return fail(fmt.Errorf("boot: policy answered %s, not start, down or skip", res.Decision.Action))
	}
	if o.DryRun {
		return out
	}
	global, err := o.globalArgs(c)
	if err != nil {
		return fail(err)
	}
	slot, err := slotFor(c, p, global, o.root, out.Action != ActionStarted, o.owners.lookup)
	if err != nil {
		return fail(err)
	}
	if out.existed, err = o.scan.Publish(slot); err != nil {
		return fail(err)
	}
	o.record(p, c, pol, in, res, out.Action)
	return out
}

// record appends the boot decision to the profile's decision journal, once
// the slot is published. A failure is a warning, never a failed boot.
func (o Options) record(p profile.Paths, c config.Config, pol Decider, in *hostabi.Input, res policy.Result, outcome string) {
	e := journal.Entry{Time: in.Now, Profile: p.Name, Kind: hostabi.KindBoot, Source: journal.SourceBoot, Input: *in,
		Decision: res.Decision, Policy: res.Policy, Fallback: res.Fallback, FallbackReason: res.FallbackReason, Outcome: outcome}
	if e.Input.Params == nil { // what the engine used: the profile's [policy.params]
		if ps, err := hostabi.ParamsFromMap(c.Policy.Params); err == nil {
			e.Input.Params = ps
		}
	}
	if id, ok := pol.(interface {
		Identity() string
		Digest() string
	}); ok && id.Identity() == res.Policy {
		e.Digest = id.Digest()
	}
	if err := journal.Append(p.Journal, e); err != nil {
		o.stderrMu.Lock()
		fmt.Fprintf(o.Stderr, "boot: warning: profile %s: %v\n", p.Name, err)
		o.stderrMu.Unlock()
	}
}

// SlotName is the s6 slot directory of a profile.
func SlotName(name string) string { return "gateway-" + name }

// StopMargin is added to gateway.stop_grace for the slot's timeout-kill:
// the wrapper escalates to SIGKILL itself after stop_grace, and s6 only
// steps in when the wrapper cannot.
const StopMargin = 5 * time.Second

// SlotFor renders the s6 slot of profile p under configuration c (already
// merged with the profile's profile.toml). exe is the supervisor binary.
func SlotFor(c config.Config, p profile.Paths, exe string, down bool) (s6.Slot, error) {
	global, err := globalArgs(c, exe)
	if err != nil {
		return s6.Slot{}, err
	}
	return slotFor(c, p, global, os.Geteuid() == 0, down, LookupOwner)
}

// slotFor is SlotFor with the global arguments already worked out and
// whether boot runs as root.
func slotFor(c config.Config, p profile.Paths, global []string, root, down bool, lookup func(string) (*s6.Owner, error)) (s6.Slot, error) {
	if err := checkLogPath(c.Home, p.Logs); err != nil {
		return s6.Slot{}, err
	}
	slot := s6.Slot{
		Name:           SlotName(p.Name),
		Run:            append(append([]string(nil), global...), "run", "-p", p.Name, "--notify-fd", "3"),
		Finish:         append(append([]string(nil), global...), "finish", "-p", p.Name),
		User:           c.Gateway.User,
		NotificationFD: 3,
		LogDir:         p.Logs,
		Down:           down,
		TimeoutKill:    c.Gateway.StopGrace.D() + StopMargin,
	}
	if root && c.Gateway.User != "" {
		owner, err := lookup(c.Gateway.User)
		if err != nil {
			return s6.Slot{}, err
		}
		slot.Owner = owner
	}
	return slot, nil
}

// globalArgs is the supervisor binary followed by the global flags that
// pin a slot's command to this configuration, every path absolute.
func globalArgs(c config.Config, exe string) ([]string, error) {
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("boot: supervisor binary %q is not an absolute path", exe)
	}
	global := []string{exe}
	if c.File != "" {
		abs, err := filepath.Abs(c.File)
		if err != nil {
			return nil, fmt.Errorf("boot: %w", err)
		}
		global = append(global, "--config", abs)
	}
	home, err := filepath.Abs(c.Home)
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	scandir, err := filepath.Abs(c.Scandir)
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	return append(global, "--home", home, "--scandir", scandir), nil
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
			return fmt.Errorf("boot: log directory %s: %w", d, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
			return fmt.Errorf("boot: log directory %s is a symlink or not a directory; replace it with a directory", d)
		}
	}
	return nil
}

// RegistrarSlotName is the s6 slot of the registrar service, which keeps
// the scan directory in step with the profiles created after boot.
const RegistrarSlotName = "hermes-registrar"

// RegistrarLogDir is where the registrar's s6-log writes: next to the scan
// directory (/run/hermes-registrar), which is root's, never on the volume,
// which belongs to the gateway user.
func RegistrarLogDir(scandir string) (string, error) {
	abs, err := filepath.Abs(scandir)
	if err != nil {
		return "", fmt.Errorf("boot: %w", err)
	}
	return filepath.Join(filepath.Dir(abs), RegistrarSlotName), nil
}

// RegistrarSlot renders the registrar's slot: a longrun that runs
// `supervisor registrar` as root (it never drops privileges: it writes
// into the root-owned scan directory), notifying readiness after its first
// pass, with its own s6-log.
func RegistrarSlot(c config.Config, exe string) (s6.Slot, error) {
	global, err := globalArgs(c, exe)
	if err != nil {
		return s6.Slot{}, err
	}
	logs, err := RegistrarLogDir(c.Scandir)
	if err != nil {
		return s6.Slot{}, err
	}
	return s6.Slot{
		Name:           RegistrarSlotName,
		Run:            append(global, "registrar", "--notify-fd", "3"),
		NotificationFD: 3,
		LogDir:         logs,
		TimeoutKill:    StopMargin,
	}, nil
}

// publishRegistrar publishes the registrar's slot, started, or removes it
// when the configuration turned the registrar off.
func publishRegistrar(ctx context.Context, o Options) error {
	c := o.Config
	if !c.Registrar {
		dir := filepath.Join(c.Scandir, RegistrarSlotName)
		if _, err := os.Lstat(dir); err != nil {
			return nil
		}
		if ok, _ := s6.Scanning(c.Scandir); ok {
			_ = o.Tools.Control(ctx, dir, s6.Down, 0)
		}
		return s6.Remove(c.Scandir, RegistrarSlotName)
	}
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("not published: boot runs as uid %d, and the registrar is root's", uid)
	}
	slot, err := RegistrarSlot(c, o.Exe)
	if err != nil {
		return err
	}
	return o.Tools.Publish(c.Scandir, slot)
}

// LookupOwner resolves a user name to its uid and primary gid.
func LookupOwner(name string) (*s6.Owner, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			return nil, fmt.Errorf("boot: gateway.user %q: no such user (create it, or set gateway.user = \"\" to run as root)", name)
		}
		return nil, fmt.Errorf("boot: gateway.user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("boot: gateway.user %q has a non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
	}
	return &s6.Owner{UID: uid, GID: gid}, nil
}
