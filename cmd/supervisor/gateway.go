package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
)

func newCmdGateway(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "gateway", Short: "Start, stop, restart a profile's gateway, show its status, reset its crash history"}
	cmd.AddCommand(
		newCmdGatewayAction(f, actionStart, nil),
		newCmdGatewayAction(f, actionStop, nil),
		newCmdGatewayAction(f, actionRestart, nil),
		newCmdGatewayStatus(f, nil),
		newCmdGatewayReset(f, nil),
	)
	return cmd
}

// gatewayAction is one of the lifecycle commands.
type gatewayAction struct {
	name, short, long, example string
	done                       string // "gateway NAME <done>"
	doing                      string // progress: "<doing> gateway NAME …"
	do                         func(*ops.Ops, context.Context, string) error
}

var (
	actionStart = gatewayAction{
		name:  "start",
		short: "Record desired_state=running and bring the gateway up (waits until ready)",
		long: `Record desired_state=running, ask s6 to bring the gateway up (registering
its slot first if it has none) and wait until it is up and ready.`,
		example: `  supervisor -p coder gateway start
  supervisor gateway start --all --wait 1m`,
		done: "started", doing: "starting", do: (*ops.Ops).Start,
	}
	actionStop = gatewayAction{
		name:  "stop",
		short: "Stop as an operator: planned-stop marker, desired_state=stopped, s6 down (waits)",
		long: `Stop the gateway as an operator: write the planned-stop marker naming the
supervised process, record desired_state=stopped, ask s6 to take it down and
wait until it is down. The gateway's supervisor recognises the marker and
persists "stopped", so the next container boot leaves it down. It works from
s6's view and the state files whatever the profile's profile.toml says.`,
		example: `  supervisor -p coder gateway stop
  supervisor gateway stop --all`,
		done: "stopped", doing: "stopping", do: (*ops.Ops).Stop,
	}
	actionRestart = gatewayAction{
		name:  "restart",
		short: "Restart as an operator: restart marker, then s6 restart (waits until ready)",
		long: `Restart the gateway as an operator: write a restart marker naming the
supervised process, restart it through s6 and wait until it is up and ready
again. A gateway that is not up is started.`,
		example: `  supervisor -p coder gateway restart`,
		done:    "restarted", doing: "restarting", do: (*ops.Ops).Restart,
	}
)

// gatewayOptions are the options of "gateway start", "stop" and "restart".
type gatewayOptions struct {
	IO      *ioStreams
	Ops     func() (*ops.Ops, error)
	Action  gatewayAction
	Profile string
	All     bool
	Wait    time.Duration
}

func newCmdGatewayAction(f *factory, a gatewayAction, runF func(context.Context, *gatewayOptions) error) *cobra.Command {
	opts := &gatewayOptions{IO: f.IO, Ops: f.Ops, Action: a}
	cmd := &cobra.Command{
		Use: a.name, Short: a.short, Long: a.long, Example: a.example,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if opts.Wait < 0 {
				return usageErrorf("gateway %s: --wait %s: want a positive duration", a.name, opts.Wait)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGatewayAction(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "every profile")
	cmd.Flags().DurationVar(&opts.Wait, "wait", 0, "how long to wait for s6 (default 30s, plus stop_grace when stopping)")
	return cmd
}

func runGatewayAction(ctx context.Context, opts *gatewayOptions) error {
	o, err := opts.Ops()
	if err != nil {
		return err
	}
	o.Wait = opts.Wait
	names := []string{opts.Profile}
	if opts.All {
		if names, err = allProfiles(opts.IO, o); err != nil {
			return err
		}
	}
	a := opts.Action
	var failed int
	for _, n := range names {
		opts.IO.Progress("%s gateway %s (waiting for s6)", a.doing, n)
		if err := a.do(o, ctx, n); err != nil {
			if !opts.All {
				return err
			}
			failed++
			fmt.Fprintf(opts.IO.ErrOut, "supervisor: %s: %s\n", n, err)
			continue
		}
		fmt.Fprintf(opts.IO.ErrOut, "gateway %s %s\n", n, a.done)
		if a.name != actionStop.name {
			warnNotes(ctx, opts.IO, o, n)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d gateways failed to %s", failed, len(names), a.name)
	}
	return nil
}

// allProfiles are the names --all acts on; the directories that are no
// usable profile are warned about.
func allProfiles(io *ioStreams, o *ops.Ops) ([]string, error) {
	names, problems, err := o.ListProfiles()
	for _, p := range problems {
		io.Warn(p)
	}
	return names, err
}

// warnNotes warns about what status would note for a gateway just
// started: above all a policy module that is refused, so that the native
// fallback makes its decisions; a start succeeds all the same.
func warnNotes(ctx context.Context, io *ioStreams, o *ops.Ops, name string) {
	st, err := o.Status(ctx, name)
	if err != nil {
		return
	}
	for _, n := range st.Notes {
		fmt.Fprintf(io.ErrOut, "supervisor: warning: %s: %s\n", name, show.Text(n))
	}
}
