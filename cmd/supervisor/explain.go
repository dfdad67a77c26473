package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
)

// explainOptions are the options of "explain".
type explainOptions struct {
	IO       *ioStreams
	Journal  func(name string, all bool) ([]journal.Entry, error)
	Location *time.Location
	Profile  string
	All      bool
	Last     int
	Format   string
}

func newCmdExplain(f *factory, runF func(context.Context, *explainOptions) error) *cobra.Command {
	opts := &explainOptions{IO: f.IO, Journal: f.Journal, Location: time.Local}
	cmd := &cobra.Command{
		Use:   "explain [--last N] [--all] [--output table|json]",
		Short: "Say in plain words what the policy decided for a profile, and why",
		Long: `Read the profile's decision journal (state/decisions.jsonl) and explain its
recent boot, shutdown and exit decisions, newest first: what was decided,
from which facts, by which module (name@digest8), and whether the native
fallback decided. --all explains every profile's decisions, newest first.
--output json prints the journal entries with their explanation.`,
		Example: `  supervisor -p coder explain
  supervisor -p coder explain --last 3
  supervisor explain --all --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if opts.Last < 0 {
				return usageErrorf("explain: --last %d: want 0 (all) or more", opts.Last)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExplain(opts)
		},
	}
	cmd.Flags().IntVar(&opts.Last, "last", 20, "explain the last N decisions (0 = all)")
	cmd.Flags().BoolVar(&opts.All, "all", false, "every profile")
	v := addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	v.aliases = map[string]string{"text": formatTable}
	return cmd
}

func runExplain(opts *explainOptions) error {
	es, err := opts.Journal(opts.Profile, opts.All)
	if err != nil {
		return err
	}
	ex := journal.ExplainAll(es, opts.Location, opts.All)
	if opts.Last > 0 && len(ex) > opts.Last {
		ex = ex[:opts.Last]
	}
	if opts.Format == formatJSON {
		if ex == nil {
			ex = []journal.Explained{}
		}
		return writeJSON(opts.IO.Out, ex)
	}
	if len(ex) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "explain: no decision journalled yet")
		return nil
	}
	for _, e := range ex {
		fmt.Fprintln(opts.IO.Out, show.Text(e.Text)) // holds a policy's reason
	}
	return nil
}

// Journal reads the decision journal of profile name, or of every profile
// with all, oldest first. Lines the reader skipped are warned about on
// stderr, naming the file and line.
func (f *factory) Journal(name string, all bool) ([]journal.Entry, error) {
	c, err := f.Volume()
	if err != nil {
		return nil, err
	}
	names := []string{name}
	if all {
		var problems []profile.Problem
		names, problems, err = profile.List(c.Home)
		if err != nil {
			return nil, err
		}
		for _, p := range problems {
			f.IO.Warn(p)
		}
	}
	var es []journal.Entry
	for _, n := range names {
		p, err := profile.For(c.Home, n)
		if err != nil {
			return nil, &usageError{err}
		}
		if !all && n != profile.Root {
			if fi, err := os.Stat(p.Dir); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("no such profile %q (%s): list them with `supervisor profile list`", p.Name, p.Dir)
			}
		}
		got, warns, err := journal.Read(p.Journal)
		if err != nil {
			return nil, err
		}
		for _, w := range warns {
			f.IO.Warn(w)
		}
		es = append(es, got...)
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
	return es, nil
}
