package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// policyWarmOptions are the options of "policy warm", which boot runs as
// the gateway user.
type policyWarmOptions struct {
	IO     *ioStreams
	Config func() (config.Config, error)
}

func newCmdPolicyWarm(f *factory, runF func(context.Context, *policyWarmOptions) error) *cobra.Command {
	opts := &policyWarmOptions{IO: f.IO, Config: f.Volume}
	return &cobra.Command{
		Use:    "warm",
		Short:  "Compile every profile's policy module into this user's cache (what boot runs as the gateway user)",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyWarm(cmd.Context(), opts)
		},
	}
}

// runPolicyWarm opens the policy engine of every profile's effective
// configuration once, with this user's compilation cache, so that the
// gateways' supervisors (this user's) find their modules compiled: a
// Go-built module costs seconds and tens of MiB cold, tens of milliseconds
// warm. It prints one line per module.
func runPolicyWarm(ctx context.Context, opts *policyWarmOptions) error {
	c, err := opts.Config()
	if err != nil {
		return err
	}
	names, _, err := profile.List(c.Home)
	if err != nil {
		return err
	}
	pool := engine.NewPool(slog.New(slog.DiscardHandler))
	defer pool.Close(ctx)
	seen := map[any]bool{}
	for _, name := range names {
		p, err := profile.For(c.Home, name)
		if err != nil {
			continue
		}
		pc, err := c.ForProfile(p.Config)
		if err != nil {
			continue // boot reports it
		}
		start := time.Now()
		d, err := pool.For(ctx, pc)
		if err != nil || seen[d] {
			continue
		}
		seen[d] = true
		if e, ok := d.(*policy.Engine); ok {
			fmt.Fprintf(opts.IO.Out, "%s compiled into %s in %s\n", e.Identity(), engine.CacheDir(pc), time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}
