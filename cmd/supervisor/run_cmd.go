package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/runner"
)

func init() { commands = append(commands, newRunCmd) }

// runtimeOptions loads the profile's configuration and opens the policy.
func runtimeOptions(ctx context.Context, g *globals) (runner.Options, *policy.Engine, error) {
	o, err := runtimeBase(g)
	if err != nil {
		return o, nil, err
	}
	eng, err := engine.Open(ctx, o.Config, o.Logger)
	if err != nil {
		return runner.Options{}, nil, err
	}
	o.Engine = eng
	return o, eng, nil
}

// finishOptions is runtimeOptions with an engine that opens on first use.
func finishOptions(g *globals) (runner.Options, *engine.Lazy, error) {
	o, err := runtimeBase(g)
	if err != nil {
		return o, nil, err
	}
	l, err := engine.NewLazy(o.Config, o.Logger)
	if err != nil {
		return runner.Options{}, nil, err
	}
	o.Engine = l
	return o, l, nil
}

// runtimeBase loads the profile's configuration.
func runtimeBase(g *globals) (runner.Options, error) {
	c, err := g.load()
	if err != nil {
		return runner.Options{}, err
	}
	p, err := profile.For(c.Home, g.profile)
	if err != nil {
		return runner.Options{}, &usageError{err}
	}
	if c, err = c.ForProfile(p.Config); err != nil {
		return runner.Options{}, err
	}
	log := slog.New(slog.NewTextHandler(g.stderr, nil)).With("profile", p.Name)
	return runner.Options{Config: c, Paths: p, Logger: log, Stdout: g.stdout, Stderr: g.stderr}, nil
}

func newRunCmd(g *globals) *cobra.Command {
	notifyFD := -1
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start and supervise the profile's gateway (what an s6 slot's run script execs)",
		Long: `Start the profile's gateway in its own process group and supervise it.
Readiness is written to --notify-fd (s6's notification-fd) as one newline.
A stop signal is classified (operator stop, restart, plain signal), the
policy's shutdown decision is made durable, and only then is the signal
forwarded to the gateway. See supervisor/runner/README.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// First of all: a SIGTERM from s6 while the configuration and
			// the policy load must be decided, not kill this process.
			sigs := make(chan os.Signal, 8)
			signal.Notify(sigs, runner.StopSignals...)
			defer signal.Stop(sigs)
			notify, err := notifyFile(notifyFD)
			if err != nil {
				return err
			}
			ctx := context.Background()
			o, eng, err := runtimeOptions(ctx, g)
			if err != nil {
				return err
			}
			defer eng.Close(ctx)
			o.Notify, o.Signals = notify, sigs
			o.YieldCPU = true // this process ends with the stop
			code, err := runner.Run(ctx, o)
			return withCode(code, err)
		},
	}
	cmd.Flags().IntVar(&notifyFD, "notify-fd", -1, "descriptor to write readiness to (s6's notification-fd)")
	return cmd
}
