package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/runner"
)

func init() { commands = append(commands, newRunCmd) }

// runtimeOptions loads the profile's configuration and opens the policy.
func runtimeOptions(ctx context.Context, g *globals) (runner.Options, *policy.Engine, error) {
	o, po, err := runtimeBase(g)
	if err != nil {
		return o, nil, err
	}
	eng, err := policy.Open(ctx, po)
	if err != nil {
		return runner.Options{}, nil, err
	}
	o.Engine = eng
	return o, eng, nil
}

// finishOptions is runtimeOptions with an engine that opens on first use.
func finishOptions(g *globals) (runner.Options, *lazyEngine, error) {
	o, po, err := runtimeBase(g)
	if err != nil {
		return o, nil, err
	}
	l := &lazyEngine{opts: po}
	o.Engine = l
	return o, l, nil
}

// lazyEngine opens the policy engine when the first decision is asked for.
type lazyEngine struct {
	opts policy.Options
	eng  *policy.Engine
}

func (l *lazyEngine) Decide(ctx context.Context, in *hostabi.Input) (policy.Result, error) {
	if l.eng == nil {
		eng, err := policy.Open(ctx, l.opts)
		if err != nil {
			return policy.Result{}, err
		}
		l.eng = eng
	}
	return l.eng.Decide(ctx, in)
}

func (l *lazyEngine) Identity() string {
	if l.eng == nil {
		return "(not loaded)"
	}
	return l.eng.Identity()
}

// Digest is the module's sha256, once loaded.
func (l *lazyEngine) Digest() string {
	if l.eng == nil {
		return ""
	}
	return l.eng.Digest()
}

func (l *lazyEngine) Close(ctx context.Context) error {
	if l.eng == nil {
		return nil
	}
	return l.eng.Close(ctx)
}

// runtimeBase loads the profile's configuration and policy options.
func runtimeBase(g *globals) (runner.Options, policy.Options, error) {
	c, err := g.load()
	if err != nil {
		return runner.Options{}, policy.Options{}, err
	}
	p, err := profile.For(c.Home, g.profile)
	if err != nil {
		return runner.Options{}, policy.Options{}, &usageError{err}
	}
	if c, err = c.ForProfile(p.Config); err != nil {
		return runner.Options{}, policy.Options{}, err
	}
	log := slog.New(slog.NewTextHandler(g.stderr, nil)).With("profile", p.Name)
	po, err := supervisor.PolicyOptions(c, log)
	if err != nil {
		return runner.Options{}, policy.Options{}, err
	}
	return runner.Options{Config: c, Paths: p, Log: log, Stdout: g.stdout, Stderr: g.stderr}, po, nil
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
