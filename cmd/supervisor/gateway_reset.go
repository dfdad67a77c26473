package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
)

// gatewayResetOptions are the options of "gateway reset".
type gatewayResetOptions struct {
	IO      *ioStreams
	Ops     func() (*ops.Ops, error)
	Profile string
	All     bool
}

func newCmdGatewayReset(f *factory, runF func(context.Context, *gatewayResetOptions) error) *cobra.Command {
	opts := &gatewayResetOptions{IO: f.IO, Ops: f.Ops}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Clear a gateway's crash history, so that its policy starts afresh (like systemctl reset-failed)",
		Long: `Clear the profile's crash history: the exit history its policy counts
crashes in (state/gateway.exits.json), a restart delay deferred to the next
start, and s6's death tally of its slot. The states stay as they are, with
a reason saying they were reset; nothing is started. Use it after a policy
stopped a crash-looping gateway for good and the cause is fixed, then start
the gateway.`,
		Example: `  supervisor -p coder gateway reset
  supervisor -p coder gateway start`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGatewayReset(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "every profile")
	return cmd
}

func runGatewayReset(ctx context.Context, opts *gatewayResetOptions) error {
	o, err := opts.Ops()
	if err != nil {
		return err
	}
	names := []string{opts.Profile}
	if opts.All {
		if names, err = allProfiles(opts.IO, o); err != nil {
			return err
		}
	}
	for _, n := range names {
		c, err := o.Reset(ctx, n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		for _, w := range c.Warnings {
			opts.IO.Warn(w)
		}
		msg := fmt.Sprintf("gateway %s reset: %d exit%s cleared from its history", n, c.Exits, plural(c.Exits))
		if !c.RestartDelay.IsZero() {
			msg += ", a restart deferred until " + c.RestartDelay.Local().Format(time.RFC3339) + " dropped"
		}
		fmt.Fprintln(opts.IO.ErrOut, msg)
	}
	if !opts.All {
		fmt.Fprintf(opts.IO.ErrOut, "start it with `supervisor -p %s gateway start`\n", opts.Profile)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
