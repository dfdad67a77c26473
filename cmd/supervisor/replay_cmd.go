package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal/replay"
)

func init() { policySubcommands = append(policySubcommands, newPolicyReplayCmd) }

type replayOptions struct {
	policy string
	all    bool
	output string
}

func newPolicyReplayCmd(g *globals) *cobra.Command {
	o := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay --policy FILE [-p NAME | --all] [--output table|json]",
		Short: "Replay a profile's journalled decisions through a candidate module",
		Long: `Ask a candidate policy module every decision the journal recorded for the
profile (-p) or for every profile (--all), with the very input the deciding
module saw, and list the decisions it would answer differently: profile,
time, decision, recorded answer, candidate answer. Answers are compared on
what the supervisor acts upon (action, state, desired, exit code, delay),
not on the reason's wording. A decision the candidate cannot make (it
fails, declines, or does not make that kind; the native fallback would
decide) is listed as such, never counted as agreement.

--policy is a .wasm file, a Go policy directory (built first), or
"embedded:default".

Exit status: 0 nothing would change; 1 a decision would change or the
candidate could not make it; 2 a usage or load error, or no decision
journalled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.policy == "" {
				return &usageError{errors.New("policy replay: --policy FILE is required")}
			}
			if o.all && cmd.Flag("profile").Changed {
				return &usageError{errors.New("policy replay: give -p NAME or --all, not both")}
			}
			if o.output != "table" && o.output != "json" {
				return &usageError{fmt.Errorf("policy replay: --output %q: want table or json", o.output)}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runReplay(ctx, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.policy, "policy", "", `candidate module: a .wasm file, a policy directory, or "embedded:default"`)
	f.BoolVar(&o.all, "all", false, "replay every profile's journal")
	f.StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

func runReplay(ctx context.Context, g *globals, o *replayOptions) error {
	es, err := journalEntries(g, o.all)
	if err != nil {
		return withCode(2, err)
	}
	if len(es) == 0 {
		return withCode(2, fmt.Errorf("policy replay: %w for %s", replay.ErrNoDecisions, scope(g, o.all)))
	}
	eng, cleanup, err := openCandidate(ctx, g, o.policy)
	if err != nil {
		return withCode(2, err)
	}
	defer cleanup()
	rep := replay.Replay(ctx, eng, es)
	if o.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := writeReplayTable(g, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return withCode(1, nil)
	}
	return nil
}

func scope(g *globals, all bool) string {
	if all {
		return "any profile"
	}
	return fmt.Sprintf("profile %q", g.profile)
}

// openCandidate opens the candidate module with the configuration's
// limits, refusing (rather than falling back from) a module that cannot be
// loaded.
func openCandidate(ctx context.Context, g *globals, spec string) (*policy.Engine, func(), error) {
	c, err := g.load()
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	po, err := engine.Options(c, log)
	if err != nil {
		return nil, nil, err
	}
	po.Module, po.SHA256, po.Wasm, po.OnError = spec, "", nil, policy.OnErrorFail
	cleanup := func() {}
	if spec == policy.EmbeddedSource {
		po.Module = ""
	} else if fi, err := os.Stat(spec); err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	} else if fi.IsDir() {
		if policyBuild == nil {
			return nil, nil, fmt.Errorf("policy: %s is a directory, and this binary cannot build policies", spec)
		}
		tmp, err := os.MkdirTemp("", "policy-replay-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		po.Module = filepath.Join(tmp, filepath.Base(filepath.Clean(spec))+".wasm")
		if err := policyBuild(ctx, spec, po.Module); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	eng, err := policy.Open(ctx, po)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return eng, func() { eng.Close(context.Background()); cleanup() }, nil
}

// writeReplayTable lists the decisions that would change, then a summary
// line. Aligned on a terminal, tab-separated otherwise.
func writeReplayTable(g *globals, rep *replay.Report) error {
	var tw flusher = plainTabs{g.stdout}
	if isTerminal(g.stdout) {
		tw = tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	}
	if !rep.OK() {
		fmt.Fprintln(tw, "PROFILE\tTIME\tDECISION\tRECORDED\tCANDIDATE")
	}
	for _, r := range rep.Rows {
		var cand string
		switch r.Verdict {
		case replay.Same:
			continue
		case replay.Changed:
			cand = replay.Answer(r.Entry.Kind, *r.Candidate) + " (" + r.Candidate.Reason + ")"
		default:
			cand = "cannot decide: " + r.Why
		}
		rec := replay.Answer(r.Entry.Kind, r.Entry.Decision) + " (" + r.Entry.Decision.Reason + ")"
		if r.Entry.Fallback {
			rec += " [fallback]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Entry.Profile, r.Entry.Time.Local().Format(time.RFC3339), r.Entry.Kind, rec, cand)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "ok"
	if !rep.OK() {
		verdict = "CHANGES"
	}
	_, err := fmt.Fprintf(g.stdout, "%s: %d decisions replayed against %s: %d would change, %d the candidate cannot make, %d unchanged\n",
		verdict, len(rep.Rows), rep.Policy, rep.Changed, rep.Undecided, rep.Same)
	return err
}

type flusher interface {
	io.Writer
	Flush() error
}

// plainTabs writes tab-separated cells as they are.
type plainTabs struct{ io.Writer }

func (plainTabs) Flush() error { return nil }

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
