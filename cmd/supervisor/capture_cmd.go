package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal/replay"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

func init() { policySubcommands = append(policySubcommands, newPolicyCaptureCmd) }

type captureOptions struct {
	last int
	out  string
}

func newPolicyCaptureCmd(g *globals) *cobra.Command {
	o := &captureOptions{}
	cmd := &cobra.Command{
		Use:   "capture -p NAME [--last N] -o FILE",
		Short: "Turn a profile's journalled decisions into fixture scenarios",
		Long: `Write the profile's journalled decisions (the last N, or all) as a fixture
file for "supervisor policy test": each decision's recorded input, and its
recorded answer (action, state, desired, exit code, delay) as the
expectation. The file names no module: run it with --policy. Decisions the
native fallback made are left out. -o - writes to stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.out == "" {
				return &usageError{errors.New("policy capture: -o FILE is required")}
			}
			if o.last < 0 {
				return &usageError{fmt.Errorf("policy capture: --last %d: want 0 (all) or more", o.last)}
			}
			return runCapture(g, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.last, "last", 0, "capture the last N decisions (0 = all)")
	f.StringVarP(&o.out, "output", "o", "", "fixture file to write (- = stdout)")
	return cmd
}

func runCapture(g *globals, o *captureOptions) error {
	es, err := journalEntries(g, false)
	if err != nil {
		return err
	}
	es = journal.Last(es, o.last)
	if len(es) == 0 {
		return fmt.Errorf("policy capture: %w for profile %q", replay.ErrNoDecisions, g.profile)
	}
	policies := map[string]bool{}
	var names []string
	for _, e := range es {
		if !policies[e.Policy] {
			policies[e.Policy] = true
			names = append(names, e.Policy)
		}
	}
	header := fmt.Sprintf("Captured by `supervisor -p %s policy capture` at %s from the decision journal.\n"+
		"Recorded by %s. Each scenario expects the answer recorded.\n"+
		"Run: supervisor policy test THIS-FILE --policy MODULE",
		g.profile, time.Now().UTC().Format(time.RFC3339), strings.Join(names, ", "))
	b, skipped, err := replay.Capture(es, header)
	if err != nil {
		return err
	}
	if o.out == "-" {
		_, err = g.stdout.Write(b)
		return err
	}
	if err := state.WriteAtomic(o.out, b, 0o644); err != nil {
		return fmt.Errorf("policy capture: %w", err)
	}
	fmt.Fprintf(g.stderr, "captured %d decisions into %s", len(es)-skipped, o.out)
	if skipped > 0 {
		fmt.Fprintf(g.stderr, " (%d made by the native fallback left out)", skipped)
	}
	fmt.Fprintln(g.stderr)
	return nil
}
