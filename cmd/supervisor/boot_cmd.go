package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
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

// runBoot boots every profile; shared by boot and init.
func runBoot(ctx context.Context, g *globals, c config.Config, dryRun bool) ([]boot.Outcome, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	exe, err := selfPath()
	if err != nil {
		return nil, err
	}
	if !dryRun {
		// Before anything writes to the volume (the policy cache, the
		// slots' log directories): a read-only volume boots nothing.
		if err := boot.CheckVolume(c.Home); err != nil {
			return nil, err
		}
	}
	log := slog.New(slog.NewTextHandler(g.stderr, nil))
	if !dryRun && os.Geteuid() == 0 && c.Gateway.User != "" {
		// The gateways' supervisors run as the gateway user: give it a
		// compilation cache of its own (a failure only costs compile time).
		if owner, err := boot.LookupOwner(c.Gateway.User); err == nil {
			if err := supervisor.PrepareCacheDir(c, owner.UID, owner.GID); err != nil {
				log.Warn("boot: policy cache for the gateway user", "err", err)
			}
		}
	}
	opts, err := supervisor.PolicyOptions(c, log)
	if err != nil {
		return nil, err
	}
	eng, err := policy.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer eng.Close(ctx)
	var perProfile []*policy.Engine
	defer func() {
		for _, e := range perProfile {
			e.Close(ctx)
		}
	}()
	policyFor := func(ctx context.Context, pc config.Config) (boot.Decider, error) {
		po, err := supervisor.PolicyOptions(pc, log)
		if err != nil {
			return nil, err
		}
		e, err := policy.Open(ctx, po)
		if err != nil {
			return nil, err
		}
		perProfile = append(perProfile, e)
		return e, nil
	}
	return boot.Run(ctx, boot.Options{
		Config: c, Policy: eng, PolicyFor: policyFor, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe,
		Now: time.Now().UTC().Truncate(time.Second), DryRun: dryRun, Stdout: g.stdout, Stderr: g.stderr,
	})
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
