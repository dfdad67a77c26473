// Command parity boots generated volumes twice, with upstream's container-
// boot reconciler (hermes-agent in a venv, see tests/hermes/install.sh) and
// with `supervisor boot --dry-run`, and prints where the two disagree,
// grouped by the boot rule each volume exercises.
//
//	go run ./tests/hermes/parity [-supervisor BIN] [-mixed N] [-seed N] [-json FILE] [-keep DIR] [-v]
//
// Upstream is run for real (sweeps, slots, boot log) on the generated
// volume after ours has read it; when that raises (upstream's whole boot
// fails) its dry run is compared instead and the failure is reported. It
// exits 0 when both agree everywhere, 1 when they differ, 2 on an error.
// It imports no package of the product: it runs the binary.
//
// Both boots run in a PID namespace of their own whose PID 1 has the
// volume's container command as its argv (hermes.InContainer), so that
// both read it from /proc as they do in a container; both get the volume's
// environment (HERMES_GATEWAY_NO_SUPERVISE, GATEWAY_MULTIPLEX_PROFILES,
// HERMES_GATEWAY_BOOTSTRAP_STATE). It needs root.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/tests/hermes"
)

// Diff is one disagreement.
type Diff struct {
	Rule     string `json:"rule"`
	Kind     string `json:"kind"`
	Volume   string `json:"volume"`
	Profile  string `json:"profile,omitempty"`
	Upstream string `json:"upstream"`
	Ours     string `json:"ours"`
}

// Kinds of disagreement.
const (
	KindUpstreamRaises   = "upstream's boot raises (whole boot fails); ours boots"
	KindOursFails        = "ours exits non-zero; upstream boots"
	KindOnlyUpstream     = "line only upstream"
	KindOnlyOurs         = "line only ours"
	KindOrder            = "order of lines"
	KindAction           = "action"
	KindPriorState       = "prior_state"
	KindPriorStateVocab  = "prior_state outside our vocabulary (ours: other)"
	KindPriorStateUnread = "prior_state of an unusable file (upstream: None, ours: unreadable)"
	KindPriorExit        = "prior_exit vs upstream main's ledger rule (0.19.0 logs none)"
)

var abiStates = []string{"none", "unreadable", "starting", "running", "draining", "degraded", "stopped", "startup_failed", "other"}

type ourLine struct {
	Profile, PriorState, Action, PriorExit, Reason, Time string
}

type result struct {
	vol       hermes.Volume
	diffs     []Diff
	err       error
	upLog     []string
	ourStamp  string
	upRaised  string
	ourStderr string
}

func main() {
	hermes.RunPID1IfAsked()
	os.Exit(run())
}

func run() int {
	supBin := flag.String("supervisor", "", "supervisor binary (default: build ./cmd/supervisor of this module)")
	mixed := flag.Int("mixed", 150, "mixed volumes to generate besides the rule families")
	seed := flag.Uint64("seed", 1, "seed of the mixed volumes")
	jsonOut := flag.String("json", "", "write every difference to this file as JSON")
	keep := flag.String("keep", "", "build the volumes under this directory and keep them")
	jobs := flag.Int("j", 2, "volumes booted at once")
	verbose := flag.Bool("v", false, "print every difference, not only a summary per rule")
	flag.Parse()

	venv, err := hermes.FindVenv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		return 2
	}
	work := *keep
	if work == "" {
		if work, err = os.MkdirTemp("", "hermes-parity-"); err != nil {
			fmt.Fprintln(os.Stderr, "parity:", err)
			return 2
		}
		defer os.RemoveAll(work)
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		return 2
	}
	if *supBin == "" {
		*supBin = filepath.Join(work, "supervisor")
		if err := buildSupervisor(*supBin); err != nil {
			fmt.Fprintln(os.Stderr, "parity:", err)
			return 2
		}
	}

	vols := hermes.Cases(*seed, *mixed)
	results := make([]result, len(vols))
	start := time.Now()
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range max(1, *jobs) {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(vols) {
					return
				}
				results[k] = boot(venv, *supBin, filepath.Join(work, fmt.Sprintf("v%04d", k)), vols[k])
			}
		})
	}
	wg.Wait()

	var diffs []Diff
	failed := 0
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(os.Stderr, "parity: volume %s: %v\n", r.vol.Name, r.err)
			failed++
			continue
		}
		diffs = append(diffs, r.diffs...)
	}
	report(os.Stdout, results, diffs, time.Since(start), *verbose)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(diffs, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "parity:", err)
			return 2
		}
	}
	switch {
	case failed > 0:
		return 2
	case len(diffs) > 0:
		return 1
	}
	return 0
}

func buildSupervisor(out string) error {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(mod)) == "" || strings.TrimSpace(string(mod)) == os.DevNull {
		return fmt.Errorf("no Go module here to build ./cmd/supervisor from (pass -supervisor): %v", err)
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/supervisor")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/supervisor in %s: %w", cmd.Dir, err)
	}
	return nil
}

// boot builds one volume and boots it both ways.
func boot(venv hermes.Venv, sup, dir string, v hermes.Volume) result {
	r := result{vol: v}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		r.err = err
		return r
	}
	if err := v.Build(home); err != nil {
		r.err = err
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Ours first: the dry run changes nothing.
	cfg := filepath.Join(dir, "hermes.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[policy.params]\nmultiplex_profiles = %t\n", v.Multiplex), 0o644); err != nil {
		r.err = err
		return r
	}
	cmd := exec.CommandContext(ctx, sup, "--config", cfg, "--home", home, "--scandir", filepath.Join(dir, "scan-ours"), "boot", "--dry-run")
	cmd.Dir = dir
	cmd.Env = append(ourEnv(), v.Env...)
	if v.Bootstrap != "" {
		cmd.Env = append(cmd.Env, "HERMES_GATEWAY_BOOTSTRAP_STATE="+v.Bootstrap)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd, err := hermes.InContainer(ctx, cmd, pid1(v))
	if err != nil {
		r.err = err
		return r
	}
	runErr := cmd.Run()
	var exit *exec.ExitError
	ourCode := 0
	if errors.As(runErr, &exit) {
		ourCode = exit.ExitCode()
	} else if runErr != nil {
		r.err = fmt.Errorf("supervisor boot --dry-run: %w", runErr)
		return r
	}
	r.ourStderr = stderr.String()
	var ours []ourLine
	for _, l := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		b, err := hermes.ParseBootLine(l)
		if err != nil {
			r.err = err
			return r
		}
		ours = append(ours, ourLine{Profile: b.Fields["profile"], PriorState: b.Fields["prior_state"], Action: b.Fields["action"],
			PriorExit: b.Fields["prior_exit"], Reason: b.Fields["reason"], Time: b.Time})
	}
	if len(ours) > 0 {
		r.ourStamp = ours[0].Time
	}

	// Upstream: dry run, then the real boot.
	opts := hermes.ReconcileOptions{PID1: pid1(v), Env: v.Env}
	dry, err := venv.Reconcile(ctx, home, opts)
	if err != nil {
		r.err = err
		return r
	}
	opts.Apply, opts.Scandir, opts.Bootstrap = true, filepath.Join(dir, "scan-upstream"), v.Bootstrap
	applied, err := venv.Reconcile(ctx, home, opts)
	if err != nil {
		r.err = err
		return r
	}
	r.upLog = applied.LogLines
	up := applied
	if !applied.OK {
		r.upRaised = applied.ErrorType + ": " + applied.Error
		r.diffs = append(r.diffs, Diff{Rule: v.Rule, Kind: KindUpstreamRaises, Volume: v.Name,
			Upstream: r.upRaised, Ours: fmt.Sprintf("exit %d, %d lines", ourCode, len(ours))})
		up = dry
		if !dry.OK || v.Bootstrap != "" {
			return r
		}
	}
	if ourCode != 0 {
		r.diffs = append(r.diffs, Diff{Rule: v.Rule, Kind: KindOursFails, Volume: v.Name,
			Upstream: fmt.Sprintf("%d lines", len(up.Profiles)), Ours: fmt.Sprintf("exit %d: %s", ourCode, lastLine(r.ourStderr))})
	}
	r.diffs = append(r.diffs, compare(v, up.Profiles, ours)...)
	return r
}

func compare(v hermes.Volume, up []hermes.UpstreamProfile, ours []ourLine) []Diff {
	var diffs []Diff
	used := make([]bool, len(ours))
	var upOrder, ourOrder []string
	for _, u := range up {
		name := u.Name()
		k := -1
		for j, o := range ours {
			if !used[j] && o.Profile == name {
				k = j
				break
			}
		}
		if k < 0 {
			diffs = append(diffs, Diff{Rule: v.RuleOf(name), Kind: KindOnlyUpstream, Volume: v.Name, Profile: name,
				Upstream: fmt.Sprintf("action=%s prior_state=%s", u.Action, u.PriorStateLog), Ours: "no line"})
			continue
		}
		used[k] = true
		upOrder = append(upOrder, name)
		o := ours[k]
		if o.Action != u.Action {
			diffs = append(diffs, Diff{Rule: v.RuleOf(name), Kind: KindAction, Volume: v.Name, Profile: name,
				Upstream: fmt.Sprintf("%s (prior_state=%s)", u.Action, u.PriorStateLog),
				Ours:     fmt.Sprintf("%s (prior_state=%s, reason %q)", o.Action, o.PriorState, o.Reason)})
		}
		if lbl, vocab := upstreamLabel(u.PriorState); lbl != o.PriorState {
			kind := KindPriorState
			switch {
			case !vocab && o.PriorState == "other":
				kind = KindPriorStateVocab
			case lbl == "none" && o.PriorState == "unreadable":
				kind = KindPriorStateUnread
			}
			diffs = append(diffs, Diff{Rule: v.RuleOf(name), Kind: kind, Volume: v.Name, Profile: name,
				Upstream: lbl, Ours: o.PriorState})
		}
		want := u.PriorExit
		if want == "n/a" {
			want = u.PriorExitRule
		}
		if o.PriorExit != want {
			diffs = append(diffs, Diff{Rule: v.RuleOf(name), Kind: KindPriorExit, Volume: v.Name, Profile: name,
				Upstream: want, Ours: o.PriorExit})
		}
	}
	for j, o := range ours {
		if !used[j] {
			rule := v.RuleOf(o.Profile)
			if o.Profile == "default" {
				rule = hermes.RuleProfilesDefault
			}
			diffs = append(diffs, Diff{Rule: rule, Kind: KindOnlyOurs, Volume: v.Name, Profile: o.Profile,
				Upstream: "no line", Ours: fmt.Sprintf("action=%s reason %q", o.Action, o.Reason)})
		} else {
			ourOrder = append(ourOrder, o.Profile)
		}
	}
	if !slices.Equal(upOrder, ourOrder) {
		diffs = append(diffs, Diff{Rule: v.Rule, Kind: KindOrder, Volume: v.Name,
			Upstream: quoteAll(upOrder), Ours: quoteAll(ourOrder)})
	}
	return diffs
}

// upstreamLabel renders upstream's prior_state as ours logs it (unquoted
// by the parser): "none" for None, a string as it is, any other value as
// its JSON text; vocab says whether it is a word of the ABI.
func upstreamLabel(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "none", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, slices.Contains(abiStates, s) && s != "none" && s != "unreadable" && s != "other"
	}
	return string(raw), false
}

// pid1 is the argv of PID 1 in the volume's container: its command.
func pid1(v hermes.Volume) []string {
	if v.Argv == nil {
		return []string{}
	}
	return v.Argv
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " ")
}

func ourEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HERMES_HOME" || k == "HERMES_CONFIG" || k == "S6_PROFILE_GATEWAY_SCANDIR" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func report(w io.Writer, results []result, diffs []Diff, took time.Duration, verbose bool) {
	differing := map[string]bool{}
	for _, d := range diffs {
		differing[d.Volume] = true
	}
	fmt.Fprintf(w, "%d volumes booted both ways in %s: %d agree, %d differ (%d differences)\n",
		len(results), took.Round(time.Second), len(results)-len(differing), len(differing), len(diffs))
	for _, r := range results {
		if len(r.upLog) > 0 && r.ourStamp != "" {
			fmt.Fprintf(w, "boot-log line: upstream %q; ours starts %q\n\n", r.upLog[0], r.ourStamp)
			break
		}
	}
	type key struct{ rule, kind string }
	groups := map[key][]Diff{}
	for _, d := range diffs {
		groups[key{d.Rule, d.Kind}] = append(groups[key{d.Rule, d.Kind}], d)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].kind < keys[j].kind
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tDIFFERENCE\tN\tVOLUMES\tEXAMPLE (volume [profile]: upstream | ours)")
	for _, k := range keys {
		g := groups[k]
		n := 1
		if verbose {
			n = len(g)
		} else if len(g) > 1 {
			n = 2
		}
		vols := map[string]bool{}
		for _, d := range g {
			vols[d.Volume] = true
		}
		for i, d := range g[:n] {
			rule, kind, count, nv := k.rule, k.kind, fmt.Sprint(len(g)), fmt.Sprint(len(vols))
			if i > 0 {
				rule, kind, count, nv = "", "", "", ""
			}
			prof := ""
			if d.Profile != "" {
				prof = fmt.Sprintf(" [%q]", d.Profile)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s: %s | %s\n", rule, kind, count, nv, d.Volume, prof, clip(d.Upstream), clip(d.Ours))
		}
	}
	tw.Flush()
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len(s) > 110 {
		return s[:107] + "..."
	}
	return s
}
