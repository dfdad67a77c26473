package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

func init() { commands = append(commands, newExplainCmd) }

type explainOptions struct {
	last   int
	output string
	all    bool
}

func newExplainCmd(g *globals) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain [--last N] [--output text|json] [--all]",
		Short: "Say in plain words what the policy decided for a profile, and why",
		Long: `Read the profile's decision journal (state/decisions.jsonl) and explain its
recent boot, shutdown and exit decisions, newest first: what was decided,
from which facts, by which module (name@digest8), and whether the native
fallback decided. --all explains every profile's decisions, newest first.
--output json prints the journal entries with their explanation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "text" && o.output != "json" {
				return &usageError{fmt.Errorf("explain: --output %q: want text or json", o.output)}
			}
			if o.last < 0 {
				return &usageError{fmt.Errorf("explain: --last %d: want 0 (all) or more", o.last)}
			}
			return runExplain(g, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.last, "last", 20, "explain the last N decisions (0 = all)")
	f.StringVarP(&o.output, "output", "o", "text", "text or json")
	f.BoolVar(&o.all, "all", false, "every profile")
	return cmd
}

func runExplain(g *globals, o *explainOptions) error {
	es, err := journalEntries(g, o.all)
	if err != nil {
		return err
	}
	ex := journal.ExplainAll(es, time.Local, o.all)
	if o.last > 0 && len(ex) > o.last {
		ex = ex[:o.last]
	}
	if o.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if ex == nil {
			ex = []journal.Explained{}
		}
		return enc.Encode(ex)
	}
	if len(ex) == 0 {
		fmt.Fprintln(g.stderr, "explain: no decision journalled yet")
		return nil
	}
	for _, e := range ex {
		fmt.Fprintln(g.stdout, e.Text)
	}
	return nil
}

// journalEntries reads the decision journal of the -p profile, or of every
// profile with all, oldest first. Lines the reader skipped are warned about
// on stderr, naming the file and line.
func journalEntries(g *globals, all bool) ([]journal.Entry, error) {
	c, err := g.load()
	if err != nil {
		return nil, err
	}
	names := []string{g.profile}
	if all {
		var problems []profile.Problem
		names, problems, err = profile.List(c.Home)
		if err != nil {
			return nil, err
		}
		for _, p := range problems {
			fmt.Fprintf(g.stderr, "supervisor: warning: %v\n", p)
		}
	}
	var es []journal.Entry
	for _, n := range names {
		p, err := profile.For(c.Home, n)
		if err != nil {
			return nil, &usageError{err}
		}
		if !all && n != profile.Root {
			if _, err := profileExists(p); err != nil {
				return nil, err
			}
		}
		got, warns, err := journal.Read(p.Journal)
		if err != nil {
			return nil, err
		}
		for _, w := range warns {
			fmt.Fprintf(g.stderr, "supervisor: warning: %v\n", w)
		}
		es = append(es, got...)
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
	return es, nil
}

// profileExists refuses a -p profile whose directory does not exist.
func profileExists(p profile.Paths) (bool, error) {
	if fi, err := os.Stat(p.Dir); err != nil || !fi.IsDir() {
		return false, fmt.Errorf("no such profile %q (%s): list them with `supervisor profile list`", p.Name, p.Dir)
	}
	return true, nil
}
