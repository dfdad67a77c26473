package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal/replay"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// policyCaptureOptions are the options of "policy capture".
type policyCaptureOptions struct {
	IO            *ioStreams
	Journal       func(name string, all bool) ([]journal.Entry, error)
	ProfileConfig func() (config.Config, profile.Paths, error)
	Now           func() time.Time
	Profile       string
	Last          int
	Write         string // the fixture file to write; "" = stdout
}

func newCmdPolicyCapture(f *factory, runF func(context.Context, *policyCaptureOptions) error) *cobra.Command {
	opts := &policyCaptureOptions{IO: f.IO, Journal: f.Journal, ProfileConfig: f.ProfileConfig, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "capture [-p NAME] [--last N] [--write FILE]",
		Short: "Turn a profile's journalled decisions into fixture scenarios",
		Long: `Write the profile's journalled decisions (the last N, or all) as a fixture
file for "supervisor policy test": each decision's recorded input, and its
recorded answer (action, state, desired, exit code, delay) as the
expectation. The file names the module that made them (its policy line:
the module file, found by its sha256 among the profile's configured
module, or "embedded:default"), so that "policy test" on it passes as
written; hold another module to it with --policy. Only the decisions of the
module that made the most recent one are captured; those the native
fallback made are left out. Without --write, the file goes to stdout.`,
		Example: `  supervisor -p coder policy capture --last 10 --write incident.toml
  supervisor policy test incident.toml                       # passes: the module that recorded it
  supervisor policy test --policy mypolicy incident.toml     # where mypolicy decides otherwise`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if err := checkNoOutputFlag(cmd); err != nil {
				return err
			}
			if opts.Last < 0 {
				return usageErrorf("policy capture: --last %d: want 0 (all) or more", opts.Last)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyCapture(opts)
		},
	}
	cmd.Flags().IntVar(&opts.Last, "last", 0, "capture the last N decisions (0 = all)")
	addWriteFlag(cmd, &opts.Write, "fixture file to write (default: stdout)")
	return cmd
}

func runPolicyCapture(opts *policyCaptureOptions) error {
	es, err := opts.Journal(opts.Profile, false)
	if err != nil {
		return err
	}
	es = journal.Last(es, opts.Last)
	// The module of the most recent decision a module made.
	var made journal.Entry
	for i := len(es) - 1; i >= 0; i-- {
		if e := es[i]; !e.Fallback && e.Refused == "" {
			made = e
			break
		}
	}
	if made.Policy == "" {
		return fmt.Errorf("policy capture: %w for profile %q that a module made", replay.ErrNoDecisions, opts.Profile)
	}
	var mine []journal.Entry
	others := map[string]int{}
	for _, e := range es {
		if e.Fallback || e.Refused != "" || sameModule(e, made) {
			mine = append(mine, e)
		} else {
			others[e.Policy]++
		}
	}
	module, where := opts.moduleOf(made)
	digest := made.Digest
	if digest == "" {
		digest = "(not journalled)"
	}
	header := fmt.Sprintf("Captured by `supervisor -p %s policy capture` at %s from the decision journal.\n"+
		"Recorded by %s (sha256 %s)%s.\nEach scenario expects the answer recorded.",
		opts.Profile, opts.Now().UTC().Format(time.RFC3339), made.Policy, digest, where)
	c, err := replay.Capture(mine, module, header)
	if err != nil {
		return fmt.Errorf("policy capture: %w", err)
	}
	if opts.Write == "" {
		_, err = opts.IO.Out.Write(c.File)
	} else {
		err = state.WriteAtomic(opts.Write, c.File, 0o644)
	}
	if err != nil {
		return fmt.Errorf("policy capture: %w", err)
	}
	var left []string
	if c.Fallback > 0 {
		left = append(left, fmt.Sprintf("%d made by the native fallback", c.Fallback))
	}
	for p, n := range others {
		left = append(left, fmt.Sprintf("%d made by %s", n, p))
	}
	msg := fmt.Sprintf("captured %d decisions of %s", c.Scenarios, made.Policy)
	if opts.Write != "" {
		msg += " into " + opts.Write
	}
	if len(left) > 0 {
		msg += " (left out: " + strings.Join(left, ", ") + ")"
	}
	fmt.Fprintln(opts.IO.ErrOut, show.Text(msg))
	if module == "" {
		fmt.Fprintf(opts.IO.ErrOut, "supervisor: warning: the file names no module: %s is not the profile's module any more; test it with --policy MODULE\n", made.Policy)
	}
	return nil
}

// sameModule reports whether e was decided by the module that made m.
func sameModule(e, m journal.Entry) bool {
	if e.Digest != "" && m.Digest != "" {
		return e.Digest == m.Digest
	}
	return e.Policy == m.Policy
}

// moduleOf is the fixture's policy line for the module that made e: the
// embedded default, or the profile's configured module file when its
// sha256 is the one journalled ("" when neither is), and a phrase saying
// where it was found.
func (opts *policyCaptureOptions) moduleOf(e journal.Entry) (module, where string) {
	if matches(policy.Default, e) {
		return policy.EmbeddedSource, ", the embedded default module"
	}
	c, _, err := opts.ProfileConfig()
	if err != nil || c.Policy.Module == "" {
		return "", ""
	}
	b, err := policy.ReadModule(c.Policy.Module)
	if err != nil || !matches(b, e) {
		return "", ""
	}
	abs, err := filepath.Abs(c.Policy.Module)
	if err != nil {
		return "", ""
	}
	return abs, ", loaded from " + abs
}

// matches reports whether wasm is the module that made e.
func matches(wasm []byte, e journal.Entry) bool {
	if wasm == nil {
		return false
	}
	sum := sha256.Sum256(wasm)
	d := hex.EncodeToString(sum[:])
	if e.Digest != "" {
		return d == e.Digest
	}
	_, short, ok := strings.Cut(e.Policy, "@")
	return ok && len(short) == 8 && strings.HasPrefix(d, short)
}
