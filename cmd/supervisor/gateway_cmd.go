package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

func init() { commands = append(commands, newGatewayCmd) }

// ops builds the operator API from the configuration.
func (g *globals) ops() (*ops.Ops, error) {
	c, err := g.load()
	if err != nil {
		return nil, err
	}
	exe, err := selfPath()
	if err != nil {
		return nil, err
	}
	return &ops.Ops{Config: c, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe}, nil
}

func newGatewayCmd(g *globals) *cobra.Command {
	var all bool
	var wait time.Duration
	cmd := &cobra.Command{Use: "gateway", Short: "Start, stop, restart a profile's gateway and show its status"}
	cmd.PersistentFlags().BoolVar(&all, "all", false, "act on every profile")
	cmd.PersistentFlags().DurationVar(&wait, "wait", 0, "how long to wait for s6 (default 30s, plus stop_grace when stopping)")
	lifecycle := func(use, short, done string, do func(*ops.Ops, context.Context, string) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				o, err := g.ops()
				if err != nil {
					return err
				}
				o.Wait = wait
				names := []string{g.profile}
				if all {
					if names, err = allProfiles(g, o); err != nil {
						return err
					}
				}
				ctx := cmd.Context()
				if ctx == nil {
					ctx = context.Background()
				}
				var failed int
				for _, n := range names {
					if err := do(o, ctx, n); err != nil {
						if !all {
							return err
						}
						failed++
						fmt.Fprintf(g.stderr, "supervisor: %s: %v\n", n, err)
						continue
					}
					fmt.Fprintf(g.stderr, "gateway %s %s\n", n, done)
				}
				if failed > 0 {
					return withCode(1, fmt.Errorf("%d of %d gateways failed", failed, len(names)))
				}
				return nil
			},
		}
	}
	cmd.AddCommand(
		lifecycle("start", "Record desired_state=running and bring the gateway up (waits until ready)", "started", (*ops.Ops).Start),
		lifecycle("stop", "Stop as an operator: planned-stop marker, desired_state=stopped, s6 down (waits)", "stopped", (*ops.Ops).Stop),
		lifecycle("restart", "Restart as an operator: restart marker, then s6 restart (waits until ready)", "restarted", (*ops.Ops).Restart),
		newStatusCmd(g, &all),
	)
	return cmd
}

func allProfiles(g *globals, o *ops.Ops) ([]string, error) {
	names, problems, err := o.ListProfiles()
	for _, p := range problems {
		fmt.Fprintf(g.stderr, "warning: %v\n", p)
	}
	return names, err
}

func newStatusCmd(g *globals, all *bool) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show s6's view (up/down, pid, uptime, ready, last exit) and the persisted states",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return &usageError{fmt.Errorf("--output %q: want table or json", output)}
			}
			o, err := g.ops()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var sts []ops.Status
			var problems []profile.Problem
			if *all {
				if sts, problems, err = o.StatusAll(ctx); err != nil {
					return err
				}
			} else {
				st, err := o.Status(ctx, g.profile)
				if err != nil {
					return err
				}
				sts = []ops.Status{st}
			}
			for _, p := range problems {
				fmt.Fprintf(g.stderr, "warning: %v\n", p)
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if *all {
					return enc.Encode(sts)
				}
				return enc.Encode(sts[0])
			}
			return statusTable(g.stdout, sts)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func statusTable(w io.Writer, sts []ops.Status) error {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	var out io.Writer = w
	var tw *tabwriter.Writer
	if terminal {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
	}
	fmt.Fprintln(out, "PROFILE\tS6\tPID\tUPTIME/DOWNTIME\tREADY\tLAST_EXIT\tGATEWAY_STATE\tDESIRED_STATE\tNOTE")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, st := range sts {
		s6state, pid, since, ready, last := "unregistered", "-", "-", "-", "-"
		note := st.S6Error
		if st.StateError != "" {
			note = strings.TrimSpace(note + " " + st.StateError)
		}
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
			case s.Signal > 0:
				last = "signal " + strconv.Itoa(s.Signal)
			case s.ExitCode >= 0:
				last = "exit " + strconv.Itoa(s.ExitCode)
			}
		} else if st.Registered {
			s6state = "unknown"
		}
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Profile, s6state, pid, since, ready, last,
			dash(st.GatewayState), dash(st.DesiredState), dash(note))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}
