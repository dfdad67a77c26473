package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal/replay"
)

// policyReplayOptions are the options of "policy replay".
type policyReplayOptions struct {
	IO      *ioStreams
	Journal func(name string, all bool) ([]journal.Entry, error)
	Config  func() (config.Config, error)
	Build   fixture.Builder
	Policy  string
	Profile string
	All     bool
	Format  string
}

func newCmdPolicyReplay(f *factory, runF func(context.Context, *policyReplayOptions) error) *cobra.Command {
	opts := &policyReplayOptions{IO: f.IO, Journal: f.Journal, Config: f.Config, Build: builder(f.IO)}
	cmd := &cobra.Command{
		Use:   "replay --policy MODULE [-p NAME | --all] [--output table|json]",
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
		Example: `  supervisor policy replay --policy mypolicy.wasm --all
  supervisor --home ./volume-copy policy replay --policy mypolicy --all --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if opts.Policy == "" {
				return usageErrorf("policy replay: missing --policy MODULE, the candidate module (usage: %s)", cmd.UseLine())
			}
			if opts.All && cmd.Flags().Changed("profile") {
				return usageErrorf("policy replay: give -p NAME or --all, not both")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyReplay(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Policy, "policy", "", `candidate module: a .wasm file, a policy directory, or "embedded:default"`)
	cmd.Flags().BoolVar(&opts.All, "all", false, "replay every profile's journal")
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

func runPolicyReplay(ctx context.Context, opts *policyReplayOptions) error {
	es, err := opts.Journal(opts.Profile, opts.All)
	if err != nil {
		return exitWith(exitUsage, err)
	}
	if len(es) == 0 {
		scope := fmt.Sprintf("profile %q", opts.Profile)
		if opts.All {
			scope = "any profile"
		}
		return exitWith(exitUsage, fmt.Errorf("policy replay: %w for %s", replay.ErrNoDecisions, scope))
	}
	eng, cleanup, err := openCandidate(ctx, opts)
	if err != nil {
		return exitWith(exitUsage, fmt.Errorf("policy replay: %s", plainError(err)))
	}
	defer cleanup()
	rep := replay.Replay(ctx, eng, es)
	if opts.Format == formatJSON {
		if err := writeJSON(opts.IO.Out, rep); err != nil {
			return err
		}
	} else if err := writeReplayTable(opts.IO, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return exitWith(exitFailure, nil)
	}
	return nil
}

// openCandidate opens the candidate module with the configuration's
// limits, refusing (rather than falling back from) a module that cannot be
// loaded.
func openCandidate(ctx context.Context, opts *policyReplayOptions) (*policy.Engine, func(), error) {
	c, err := opts.Config()
	if err != nil {
		return nil, nil, err
	}
	po, err := engine.Options(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, nil, err
	}
	spec := opts.Policy
	po.Module, po.SHA256, po.Wasm, po.OnError = spec, "", nil, policy.OnErrorFail
	cleanup := func() {}
	if spec == policy.EmbeddedSource {
		po.Module = ""
	} else if fi, err := os.Stat(spec); err != nil {
		return nil, nil, err
	} else if fi.IsDir() {
		tmp, err := os.MkdirTemp("", "policy-replay-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		po.Module = filepath.Join(tmp, filepath.Base(filepath.Clean(spec))+".wasm")
		if err := opts.Build(ctx, spec, po.Module); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	eng, err := policy.Open(ctx, po)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return eng, func() { eng.Close(context.WithoutCancel(ctx)); cleanup() }, nil
}

// writeReplayTable lists the decisions that would change, then a summary
// line. Aligned on a terminal, tab-separated otherwise.
func writeReplayTable(io *ioStreams, rep *replay.Report) error {
	t := newTable(io)
	if !rep.OK() {
		t.Row("PROFILE", "TIME", "DECISION", "RECORDED", "CANDIDATE")
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
		t.Row(r.Entry.Profile, r.Entry.Time.Local().Format(time.RFC3339), r.Entry.Kind.String(), rec, cand)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	verdict := "ok"
	if !rep.OK() {
		verdict = "CHANGES"
	}
	_, err := fmt.Fprintf(io.Out, "%s: %d decisions replayed against %s: %d would change, %d the candidate cannot make, %d unchanged\n",
		verdict, len(rep.Rows), rep.Policy, rep.Changed, rep.Undecided, rep.Same)
	return err
}
