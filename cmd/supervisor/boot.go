package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
)

// bootOptions are the options of "boot" (and of the boot "init" runs).
type bootOptions struct {
	IO         *ioStreams
	Config     func() (config.Config, error)
	Check      func(context.Context, moduleOpener) configReport
	Executable func() (string, error)
	Now        func() time.Time
	DryRun     bool
	Format     string
}

func newBootOptions(f *factory) *bootOptions {
	return &bootOptions{IO: f.IO, Config: f.Config, Check: f.CheckConfig, Executable: f.Executable, Now: time.Now, Format: formatTable}
}

func newCmdBoot(f *factory, runF func(context.Context, *bootOptions) error) *cobra.Command {
	opts := newBootOptions(f)
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Rebuild every profile's s6 slot at container boot; start those the policy says",
		Long: `boot is the container-boot reconciler (an s6-overlay cont-init.d step): it
checks the configuration and logs what is wrong with it once (as "config
check" would), then, for the root profile and every profile under
profiles/, reads the persisted state, sweeps stale runtime files, asks the
policy's boot decision, publishes the s6 slot (down unless started) and
appends one line per profile to logs/container-boot.log.

--dry-run prints the boot-log lines on stdout and changes nothing;
--output json prints every profile's outcome instead.`,
		Example: `  supervisor boot --dry-run
  supervisor boot --dry-run --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			_, err := runBoot(cmd.Context(), opts)
			return err
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the boot-log lines to stdout and change nothing")
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

// runBoot checks the configuration, boots every profile and prints what
// happened; shared by boot and init.
func runBoot(ctx context.Context, opts *bootOptions) (boot.Report, error) {
	c, err := opts.Config()
	if err != nil {
		return boot.Report{}, err
	}
	if err := checkHome(c); err != nil {
		return boot.Report{}, err
	}
	exe, err := opts.Executable()
	if err != nil {
		return boot.Report{}, err
	}
	if !opts.DryRun {
		// Before anything writes to the volume (the policy cache, the
		// slots' log directories): a read-only volume boots nothing.
		if err := boot.CheckVolume(c.Home); err != nil {
			return boot.Report{}, err
		}
	}
	logger := opts.IO.Logger(slog.LevelInfo)
	pool := engine.NewPool(logger)
	defer pool.Close(ctx)
	if os.Geteuid() == 0 && c.Gateway.User != "" {
		// A module on the volume (a profile's own) is read with the
		// gateway user's rights, never root's. Without that user, such a
		// module is not read at all (and every slot fails to render).
		owner, err := slot.LookupOwner(c.Gateway.User)
		if err != nil {
			owner = &s6.Owner{UID: -1, GID: -1}
			logger.Warn("boot: no gateway user; a profile's own policy module cannot be read", "err", err)
		}
		pool.ReadModulesAs(exe, owner.UID, owner.GID)
		if err == nil && !opts.DryRun {
			// The gateways' supervisors run as the gateway user: give it
			// a compilation cache of its own (a failure only costs
			// compile time).
			if err := engine.PrepareCacheDir(c, owner.UID, owner.GID); err != nil {
				logger.Warn("boot: policy cache for the gateway user", "err", err)
			}
		}
	}
	logCheck(opts.IO, opts.Check(ctx, poolOpener(opts.IO, pool)))
	// The top-level policy first: with on_error = "fail", a module that
	// cannot be loaded fails the boot as a whole.
	if _, err := pool.For(ctx, c); err != nil {
		return boot.Report{}, fmt.Errorf("boot: %s", plainModuleError(err))
	}
	rep, err := boot.Run(ctx, boot.Options{
		Config: c, Policies: pool, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe,
		Now: opts.Now().UTC().Truncate(time.Second), DryRun: opts.DryRun,
	})
	if perr := printBoot(opts, rep); err == nil {
		err = perr
	}
	if err == nil && !opts.DryRun && os.Geteuid() == 0 && c.Gateway.User != "" {
		warmGatewayCache(ctx, opts.IO, c, exe)
	}
	return rep, err
}

// warmTimeout bounds the compilation of the gateway user's policy cache
// at boot: a Go-built module takes a second or two.
const warmTimeout = time.Minute

// warmLines bounds what boot copies of the warm's output (one line per
// module, or an error) into its own log.
const warmLines = 64

// warmGatewayCache compiles every profile's policy module into the
// gateway user's own cache, as that user ("policy warm" in a child process
// with the user's credentials), before the gateways start: each gateway's
// supervisor then finds its module compiled (a Go-built module costs
// seconds and tens of MiB cold). A failure costs only compile time later.
func warmGatewayCache(ctx context.Context, io *ioStreams, c config.Config, exe string) {
	owner, err := slot.LookupOwner(c.Gateway.User)
	if err != nil {
		return // boot said so for every slot
	}
	global, err := slot.Global(c, exe)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	args := append(append([]string(nil), global[1:]...), "policy", "warm")
	cmd := exec.CommandContext(ctx, global[0], args...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	groups := make([]uint32, len(owner.Groups))
	for i, g := range owner.Groups {
		groups[i] = uint32(g)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(owner.UID), Gid: uint32(owner.GID), Groups: groups}}
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, line := range lines {
		if i == warmLines {
			fmt.Fprintf(io.ErrOut, "boot: policy cache of %s: (%d more lines)\n", c.Gateway.User, len(lines)-i)
			break
		}
		if line != "" {
			fmt.Fprintf(io.ErrOut, "boot: policy cache of %s: %s\n", c.Gateway.User, show.Text(line))
		}
	}
	if err != nil {
		fmt.Fprintf(io.ErrOut, "boot: policy cache of %s: not warmed (%v): each gateway compiles its module at its first start\n", c.Gateway.User, err)
	}
}

// poolOpener opens policies for the boot's configuration check through the
// boot's own pool, so that each module is compiled once per boot.
func poolOpener(io *ioStreams, pool *engine.Pool) moduleOpener {
	return func(ctx context.Context, c config.Config) (openedModule, error) {
		mod := c.Policy.Module
		if mod == "" {
			mod = policy.EmbeddedSource
		}
		io.Progress("loading policy module %s (compiling it, unless cached)", mod)
		d, err := pool.For(ctx, c)
		if err != nil {
			return openedModule{}, err
		}
		if e, ok := d.(*policy.Engine); ok {
			return openedModule{Identity: e.Identity(), Metadata: e.Metadata()}, e.LoadError()
		}
		return openedModule{}, nil
	}
}

// logCheck logs the configuration check's result, once per boot.
func logCheck(io *ioStreams, rep configReport) {
	for _, p := range rep.Problems {
		fmt.Fprintf(io.ErrOut, "boot: configuration: %s\n", problemLine(p))
	}
	for _, p := range rep.Warnings {
		fmt.Fprintf(io.ErrOut, "boot: configuration: warning: %s\n", problemLine(p))
	}
	if n := len(rep.Problems); n > 0 {
		fmt.Fprintf(io.ErrOut, "boot: configuration: %d problem%s (`supervisor config check` lists them again)\n", n, plural(n))
		return
	}
	warnings := ""
	if n := len(rep.Warnings); n > 0 {
		warnings = fmt.Sprintf(", %d warning%s", n, plural(n))
	}
	fmt.Fprintf(io.ErrOut, "boot: configuration checked: no problem%s (%d profile%s, %d policy module%s)\n",
		warnings, len(rep.Profiles), plural(len(rep.Profiles)), len(rep.Modules), plural(len(rep.Modules)))
}

// bootOutcome is one profile's outcome as --output json prints it.
type bootOutcome struct {
	Profile    string   `json:"profile"`
	PriorState string   `json:"prior_state"`
	PriorExit  string   `json:"prior_exit"`
	Action     string   `json:"action"`
	Policy     string   `json:"policy,omitempty"`
	Reason     string   `json:"reason"`
	Error      string   `json:"error,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// printBoot prints a boot's report: one human line per profile (and its
// warnings) on stderr; on stdout, the boot-log lines for a dry run, or
// every outcome with --output json.
func printBoot(opts *bootOptions, rep boot.Report) error {
	io := opts.IO
	for _, out := range rep.Outcomes {
		name := show.Text(out.Profile) // a directory name on the volume: what docker logs shows
		for _, w := range out.Warnings {
			fmt.Fprintf(io.ErrOut, "boot: warning: profile %s: %s\n", name, show.Text(w.Error()))
		}
		human := out.Action
		if out.Err != nil {
			human = "skipped: " + out.Err.Error()
		} else {
			human += " (" + out.Reason + ")"
		}
		fmt.Fprintf(io.ErrOut, "boot: profile %s: %s\n", name, show.Text(human))
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(io.ErrOut, "boot: %s\n", show.Text(w.Error()))
	}
	if opts.Format == formatJSON {
		outs := make([]bootOutcome, 0, len(rep.Outcomes))
		for _, o := range rep.Outcomes {
			prior := o.PriorState
			if prior == "" {
				prior = "none"
			}
			b := bootOutcome{Profile: o.Profile, PriorState: prior, PriorExit: o.PriorExit.String(),
				Action: o.Action, Policy: o.Policy, Reason: o.Reason}
			if o.Err != nil {
				b.Error = o.Err.Error()
			}
			for _, w := range o.Warnings {
				b.Warnings = append(b.Warnings, w.Error())
			}
			outs = append(outs, b)
		}
		return writeJSON(io.Out, outs)
	}
	if opts.DryRun {
		_, err := io.Out.Write(rep.Lines)
		return err
	}
	return nil
}
