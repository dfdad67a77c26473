package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
)

func newCmdPolicy(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Test, inspect, build, scaffold, replay and capture policy modules"}
	cmd.AddCommand(
		newCmdPolicyTest(f, nil),
		newCmdPolicyInspect(f, nil),
		newCmdPolicyBuild(f, nil),
		newCmdPolicyNew(f, nil),
		newCmdPolicyReplay(f, nil),
		newCmdPolicyCapture(f, nil),
		newCmdPolicyReadModule(f, nil),
		newCmdPolicyWarm(f, nil),
	)
	return cmd
}

// builder builds a policy directory (Go or AssemblyScript) into a module,
// saying so on a terminal: it takes seconds (and more with a cold Go cache).
func builder(io *ioStreams) fixture.Builder {
	return func(ctx context.Context, dir, out string) error {
		if lang, err := build.Detect(dir); err == nil {
			io.Progress("building %s policy %s", lang.Name(), dir)
		}
		return build.Build(ctx, dir, out)
	}
}

// policyTestOptions are the options of "policy test".
type policyTestOptions struct {
	IO       *ioStreams
	Build    fixture.Builder
	Check    func(module string) error // refuses a stale module file
	Policy   string
	CacheDir string
	Format   string
	Verbose  bool
	Run      *regexp.Regexp // only the scenarios whose name matches; nil = all
	Paths    []string
}

func newCmdPolicyTest(f *factory, runF func(context.Context, *policyTestOptions) error) *cobra.Command {
	opts := &policyTestOptions{IO: f.IO, Build: builder(f.IO), Check: build.Fresh}
	var run string
	cmd := &cobra.Command{
		Use:   "test [--policy MODULE] [--output table|json|junit] [-v] [--run REGEX] PATH...",
		Short: "Run fixture scenarios against a policy module",
		Long: `Run the fixture scenarios found in PATH (fixture files, or directories searched
for *.toml files under a directory named fixtures) against the module each file
names, the module given with --policy, or the embedded default module.

A module is a .wasm file, a policy directory (Go or AssemblyScript, built
for the run), or "embedded:default". A .wasm file older than a source of
the policy in its own directory is refused: rebuild it, or test the
directory. A decision the module does not make (a nil Go function, a null
AssemblyScript one) or declines is made by the supervisor's built-in
default, as in production: its answer is checked, and the report says so.

The table lists failures and errors, then a summary line; -v lists every
scenario with its outcome. --run keeps the scenarios whose name matches the
regular expression (Go syntax, unanchored: --run 'crash|boot').

Exit status: 0 every scenario passed; 1 a scenario failed, or its module
failed to answer (the native fallback's answer in place of a failed module
is never a pass); 2 a usage or load error, or no scenario found (or none
matched --run).`,
		Example: `  supervisor policy test mypolicy
  supervisor policy test -v --run 'crash' mypolicy
  supervisor policy test --policy mypolicy.wasm incident.toml
  supervisor policy test --output junit mypolicy > report.xml`,
		Args: minArgs("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if cmd.Flags().Changed("run") {
				re, err := regexp.Compile(run)
				if err != nil {
					return usageErrorf("policy test: --run %q: not a regular expression: %s", run, regexpProblem(err))
				}
				opts.Run = re
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyTest(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Policy, "policy", "", `module for every fixture file: a .wasm file, a policy directory, or "embedded:default"`)
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", defaultTestCache(), "compilation cache (\"\" = none)")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "list every scenario with its outcome (table output)")
	cmd.Flags().StringVar(&run, "run", "", "run only the scenarios whose name matches this regular expression")
	addFormatFlag(cmd, &opts.Format, fixture.Formats...)
	return cmd
}

// regexpProblem is what regexp says is wrong, without its "error parsing
// regexp: " prefix.
func regexpProblem(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("%s: %q", re.Code, re.Expr)
	}
	return err.Error()
}

// defaultTestCache is where "policy test" caches compiled modules: the
// user's cache directory, so that repeated runs on a Go policy are fast.
func defaultTestCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "hermes-supervisor", "policy")
}

func runPolicyTest(ctx context.Context, opts *policyTestOptions) error {
	r := &fixture.Runner{
		Policy:   opts.Policy,
		CacheDir: opts.CacheDir,
		Build:    opts.Build,
		Check:    opts.Check,
		Match:    opts.Run,
		Logger:   opts.IO.Logger(slog.LevelWarn),
	}
	defer r.Close(context.WithoutCancel(ctx))
	opts.IO.Progress("running the scenarios of %s (a module is compiled on first use, then cached)", strings.Join(opts.Paths, " "))
	rep, err := r.Run(ctx, opts.Paths)
	if err != nil {
		return exitWith(exitUsage, fmt.Errorf("policy test: %s", plainError(err)))
	}
	if opts.Format == formatJSON {
		var b bytes.Buffer
		if err := fixture.Write(&b, opts.Format, rep); err != nil {
			return err
		}
		if err := writeJSONBytes(opts.IO.Out, b.Bytes()); err != nil {
			return err
		}
	} else if opts.Verbose && opts.Format == formatTable {
		if err := fixture.WriteTableVerbose(opts.IO.Out, rep); err != nil {
			return err
		}
	} else if err := fixture.Write(opts.IO.Out, opts.Format, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return exitWith(exitFailure, nil)
	}
	return nil
}

// plainError is err without the prefixes the policy packages add for their
// own logs, which a user reading one line does not need: "fixture: " and
// "policy: " where a message or a wrapped one starts (never inside a name
// such as "mypolicy: "), a "build: " repeated, "policy module failed: ".
func plainError(err error) string {
	return strings.ReplaceAll(withoutPrefixes(err.Error()), policy.ErrModule.Error()+": ", "")
}

// withoutPrefixes is msg without internalPrefix anywhere.
func withoutPrefixes(msg string) string {
	for { // "fixture: policy: " is two prefixes, the second after the first
		next := internalPrefix.ReplaceAllString(msg, "$1")
		if next == msg {
			return msg
		}
		msg = next
	}
}

// internalPrefix is a package's name that its errors start with, at the
// start of a message or of a wrapped one: it says where in the code, not
// what is wrong.
var internalPrefix = regexp.MustCompile(`(^|: )(?:fixture|policy|build|capture|config|state|journal|slot|runner|volume|registrar|profile|engine|ops|s6|hostabi): `)

// policyInspectOptions are the options of "policy inspect".
type policyInspectOptions struct {
	IO     *ioStreams
	File   string
	Format string
}

func newCmdPolicyInspect(f *factory, runF func(context.Context, *policyInspectOptions) error) *cobra.Command {
	opts := &policyInspectOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a module's ABI version, metadata, exports, imports, sha256 and size",
		Long: `Show what the host sees of a policy module, without running a decision.
Exit status: 0 the host would load it; 1 it would refuse it (the reason is
shown); 2 the file cannot be read.`,
		Example: `  supervisor policy inspect mypolicy.wasm
  supervisor policy inspect --output json mypolicy.wasm`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyInspect(cmd.Context(), opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

// inspected is policy.Info as printed.
type inspected struct {
	File      string               `json:"file"`
	Size      int                  `json:"size"`
	SHA256    string               `json:"sha256"`
	ABI       string               `json:"abi,omitempty"` // "1.1"
	Name      string               `json:"name,omitempty"`
	Version   string               `json:"version,omitempty"`
	Decisions []string             `json:"decisions,omitempty"`
	Params    *[]hostabi.ParamSpec `json:"params,omitempty"` // declared: absent when not declared (an older module), [] when none
	Metadata  map[string]string    `json:"metadata,omitempty"`
	Identity  string               `json:"identity,omitempty"`
	Exports   []string             `json:"exports"`
	Imports   []string             `json:"imports"`
	Status    string               `json:"status"` // ok, or refused: why
}

func runPolicyInspect(ctx context.Context, opts *policyInspectOptions) error {
	wasm, err := policy.ReadModule(opts.File)
	if err != nil {
		return exitWith(exitUsage, fmt.Errorf("policy inspect: %w", err))
	}
	opts.IO.Progress("compiling %s", opts.File)
	info := policy.Inspect(ctx, wasm)
	v := inspected{File: opts.File, Size: info.Size, SHA256: info.SHA256,
		Exports: slices.Compact(slices.Sorted(slices.Values(info.Exports))),
		Imports: slices.Compact(slices.Sorted(slices.Values(info.Imports))), Status: "ok"}
	if v.Exports == nil {
		v.Exports = []string{}
	}
	if v.Imports == nil {
		v.Imports = []string{}
	}
	if info.ABI != 0 {
		major, minor := hostabi.SplitVersion(info.ABI)
		v.ABI = fmt.Sprintf("%d.%d", major, minor)
	}
	if m := info.Metadata; m != nil {
		v.Name, v.Version, v.Metadata = m.Name, m.Version, m.Extra
		for _, d := range m.Decisions {
			v.Decisions = append(v.Decisions, d.String())
		}
		if m.DeclaresParams {
			ps := slices.Clone(m.Params)
			if ps == nil {
				ps = []hostabi.ParamSpec{}
			}
			v.Params = &ps
		}
		v.Identity = m.Name + "@" + info.SHA256[:8]
	}
	if info.Problem != nil {
		v.Status = "refused: " + plainError(info.Problem)
	}
	if opts.Format == formatJSON {
		err = writeJSON(opts.IO.Out, v)
	} else {
		err = writeInspect(opts.IO, v)
	}
	if err != nil {
		return err
	}
	if info.Problem != nil {
		return fmt.Errorf("policy inspect: %s: the host would refuse it: %s", opts.File, plainError(info.Problem))
	}
	return nil
}

// paramDefault is a declared default as a [policy.params] value would
// be written: strings and durations quoted.
func paramDefault(p hostabi.ParamSpec) string {
	if p.Type == hostabi.SpecString || p.Type == hostabi.SpecDuration {
		return strconv.Quote(p.Default)
	}
	return p.Default
}

func writeInspect(io *ioStreams, v inspected) error {
	t := newTable(&ioStreams{Out: io.Out, outTTY: true}) // a report for reading: always aligned
	t.Row("file", v.File)
	t.Row("size", fmt.Sprintf("%d bytes", v.Size))
	t.Row("sha256", v.SHA256)
	if v.ABI != "" {
		t.Row("abi", fmt.Sprintf("%s (this host speaks %d.x)", v.ABI, hostabi.VersionMajor))
	} else {
		t.Row("abi", "unknown")
	}
	if v.Identity != "" {
		t.Row("name", v.Name)
		t.Row("version", v.Version)
		t.Row("decisions", strings.Join(v.Decisions, ", "))
		switch {
		case v.Params == nil:
			t.Row("params", "(not declared: the module says nothing of the parameters it reads)")
		case len(*v.Params) == 0:
			t.Row("params", "(none: the module reads no parameter)")
		}
		if v.Params != nil {
			for i, p := range *v.Params {
				k := "params"
				if i > 0 {
					k = ""
				}
				t.Row(k, fmt.Sprintf("%s (%s, default %s)", p.Key, p.Type, paramDefault(p)))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(v.Metadata)) {
			t.Row("metadata."+k, v.Metadata[k])
		}
		t.Row("identity", v.Identity)
	}
	list := func(k string, vs []string) {
		if len(vs) == 0 {
			t.Row(k, "(none)")
		}
		for i, s := range vs {
			if i > 0 {
				k = ""
			}
			t.Row(k, s)
		}
	}
	list("exports", v.Exports)
	list("imports", v.Imports)
	t.Row("status", v.Status)
	return t.Flush()
}
