package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/runner"
)

// finishOptions are the options of "finish".
type finishOptions struct {
	IO            *ioStreams
	ProfileConfig func() (config.Config, profile.Paths, error)
	ExitCode      int // as s6 passes it: 256 when run was killed by Signal
	Signal        int
}

func newCmdFinish(f *factory, runF func(context.Context, *finishOptions) error) *cobra.Command {
	opts := &finishOptions{IO: f.IO, ProfileConfig: f.ProfileConfig}
	return &cobra.Command{
		Use:   "finish EXITCODE SIGNAL",
		Short: "Tell s6 whether to restart the gateway (what an s6 slot's finish script execs)",
		Long: `Exit 125 (s6: do not restart) or 0 (restart), as the policy decided.
EXITCODE and SIGNAL are what s6 passes to finish; EXITCODE 256 means
"supervisor run" was killed by SIGNAL. See supervisor/runner/README.md.`,
		Args: exactArgs("EXITCODE", "SIGNAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.ExitCode, err = strconv.Atoi(args[0]); err != nil || opts.ExitCode < 0 || opts.ExitCode > 256 {
				return usageErrorf("finish: EXITCODE %q is not 0..256", args[0])
			}
			if opts.Signal, err = strconv.Atoi(args[1]); err != nil || opts.Signal < 0 || opts.Signal > 64 {
				return usageErrorf("finish: SIGNAL %q is not 0..64", args[1])
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runFinish(cmd.Context(), opts)
		},
	}
}

func runFinish(ctx context.Context, opts *finishOptions) error {
	o, err := runtimeOptions(opts.IO, opts.ProfileConfig)
	if err != nil {
		return err
	}
	// finish usually follows the verdict run recorded and needs no
	// policy: s6 gives it 5 seconds, so the module is loaded only when a
	// decision is really asked for.
	lazy, err := engine.NewLazy(o.Config, o.Logger)
	if err != nil {
		return err
	}
	defer lazy.Close(ctx)
	o.Engine = lazy
	return exitWith(runner.Finish(ctx, o, opts.ExitCode, opts.Signal), nil)
}
