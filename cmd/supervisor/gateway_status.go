package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// gatewayStatusOptions are the options of "gateway status".
type gatewayStatusOptions struct {
	IO      *ioStreams
	Ops     func() (*ops.Ops, error)
	Profile string
	All     bool
	Format  string
}

func newCmdGatewayStatus(f *factory, runF func(context.Context, *gatewayStatusOptions) error) *cobra.Command {
	opts := &gatewayStatusOptions{IO: f.IO, Ops: f.Ops}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show s6's view (up/down, pid, uptime, ready, last exit) and the persisted states",
		Long: `Show s6's view of the gateway (up or down, pid, uptime or downtime, ready,
last exit: "-" when s6 has not run it since its supervisor started) beside
what the volume records (gateway_state, desired_state), whatever the
profile's profile.toml says. NOTE says what else needs the operator: a
profile.toml that cannot be used, a policy module that is refused (the
native fallback then decides), a policy that stopped the gateway for good.`,
		Example: `  supervisor -p coder gateway status
  supervisor gateway status --all
  supervisor gateway status --all --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGatewayStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "every profile")
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

func runGatewayStatus(ctx context.Context, opts *gatewayStatusOptions) error {
	o, err := opts.Ops()
	if err != nil {
		return err
	}
	var sts []ops.Status
	var problems []profile.Problem
	if opts.All {
		if sts, problems, err = o.StatusAll(ctx); err != nil {
			return err
		}
	} else {
		st, err := o.Status(ctx, opts.Profile)
		if err != nil {
			return err
		}
		sts = []ops.Status{st}
	}
	for _, p := range problems {
		opts.IO.Warn(p)
	}
	if opts.Format == formatJSON {
		if opts.All {
			return writeJSON(opts.IO.Out, sts)
		}
		return writeJSON(opts.IO.Out, sts[0])
	}
	return statusTable(opts.IO, sts)
}

func statusTable(io *ioStreams, sts []ops.Status) error {
	t := newTable(io)
	t.Row("PROFILE", "S6", "PID", "UPTIME/DOWNTIME", "READY", "LAST_EXIT", "GATEWAY_STATE", "DESIRED_STATE", "NOTE")
	for _, st := range sts {
		s6state, pid, since, ready, last := "unregistered", "-", "-", "-", "-"
		if s := st.S6; s != nil {
			s6state = s.State()
			if s.Up && !s.WantedUp {
				s6state = "up, wanted down"
			} else if !s.Up && s.WantedUp {
				s6state = "down, wanted up"
			}
			if s.Pid > 0 {
				pid = strconv.Itoa(s.Pid)
			}
			since = s.Since.String()
			ready = strconv.FormatBool(s.Ready)
			switch {
			case st.NeverRan:
			case s.Signal > 0:
				last = "signal " + strconv.Itoa(s.Signal)
			case s.ExitCode >= 0:
				last = "exit " + strconv.Itoa(s.ExitCode)
			}
		} else if st.Registered {
			s6state = "unknown"
		}
		t.Row(st.Profile, s6state, pid, since, ready, last, dash(st.GatewayState), dash(st.DesiredState), dash(statusNote(st)))
	}
	return t.Flush()
}

// statusNote is the NOTE column: every problem and note, one line.
func statusNote(st ops.Status) string {
	var parts []string
	for _, s := range append([]string{st.S6Error, st.StateError}, st.Notes...) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
