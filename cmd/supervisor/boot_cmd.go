package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
)

func init() { commands = append(commands, newBootCmd) }

func newBootCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Rebuild every profile's s6 slot at container boot; start those the policy says",
		Long: "boot is the container-boot reconciler (an s6-overlay cont-init.d step): for the root\n" +
			"profile and every profile under profiles/ it reads the persisted state, sweeps stale\n" +
			"runtime files, asks the policy's boot decision, publishes the s6 slot (down unless\n" +
			"started) and appends one line per profile to logs/container-boot.log.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.load()
			if err != nil {
				return err
			}
			_, err = runBoot(cmd.Context(), g, c, dryRun)
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the boot-log lines to stdout and change nothing")
	return cmd
}

// runBoot boots every profile and prints what happened; shared by boot
// and init.
func runBoot(ctx context.Context, g *globals, c config.Config, dryRun bool) (boot.Report, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	exe, err := selfPath()
	if err != nil {
		return boot.Report{}, err
	}
	if !dryRun {
		// Before anything writes to the volume (the policy cache, the
		// slots' log directories): a read-only volume boots nothing.
		if err := boot.CheckVolume(c.Home); err != nil {
			return boot.Report{}, err
		}
	}
	log := slog.New(slog.NewTextHandler(g.stderr, nil))
	if !dryRun && os.Geteuid() == 0 && c.Gateway.User != "" {
		// The gateways' supervisors run as the gateway user: give it a
		// compilation cache of its own (a failure only costs compile time).
		if owner, err := slot.LookupOwner(c.Gateway.User); err == nil {
			if err := engine.PrepareCacheDir(c, owner.UID, owner.GID); err != nil {
				log.Warn("boot: policy cache for the gateway user", "err", err)
			}
		}
	}
	pool := engine.NewPool(log)
	defer pool.Close(ctx)
	// The top-level policy first: with on_error = "fail", a module that
	// cannot be loaded fails the boot as a whole.
	if _, err := pool.For(ctx, c); err != nil {
		return boot.Report{}, err
	}
	rep, err := boot.Run(ctx, boot.Options{
		Config: c, Policies: pool, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe,
		Now: time.Now().UTC().Truncate(time.Second), DryRun: dryRun,
	})
	printBoot(g, rep, dryRun)
	return rep, err
}

// printBoot prints a boot's report: one human line per profile (and its
// warnings) on stderr, the boot-log lines on stdout for a dry run.
func printBoot(g *globals, rep boot.Report, dryRun bool) {
	for _, out := range rep.Outcomes {
		name := show.Text(out.Profile) // a directory name on the volume: what docker logs shows
		for _, w := range out.Warnings {
			fmt.Fprintf(g.stderr, "boot: warning: profile %s: %s\n", name, show.Text(w.Error()))
		}
		human := out.Action
		if out.Err != nil {
			human = "skipped: " + out.Err.Error()
		} else {
			human += " (" + out.Reason + ")"
		}
		fmt.Fprintf(g.stderr, "boot: profile %s: %s\n", name, show.Text(human))
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(g.stderr, "boot: %s\n", show.Text(w.Error()))
	}
	if dryRun {
		g.stdout.Write(rep.Lines)
	}
}

// selfPath is the absolute path of this binary, which slots exec.
func selfPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find the supervisor binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return exe, nil
}
