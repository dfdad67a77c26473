package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
)

func init() { commands = append(commands, newPolicyCmd) }

// policyBuild and policyScaffold build a policy directory into a module and
// lay out a new policy: package policy/build's Build and Scaffold, assigned
// by an init function of this package that imports policy/build. While nil,
// "policy build" and "policy new" report that this binary cannot build
// policies, and "policy test" refuses fixture files naming a directory.
var (
	policyBuild    func(ctx context.Context, dir, out string) error
	policyScaffold func(dir string) error
)

func newPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Test, inspect, build and scaffold policy modules"}
	cmd.AddCommand(newPolicyTestCmd(g), newPolicyInspectCmd(g))
	cmd.AddCommand(newPolicyBuildCmds(g)...)
	for _, add := range policySubcommands {
		cmd.AddCommand(add(g))
	}
	return cmd
}

// policySubcommands are further "policy" subcommands, registered by the
// files that define them, one per command.
var policySubcommands []func(*globals) *cobra.Command

type policyTestOptions struct {
	policy   string
	output   string
	cacheDir string
	paths    []string
}

func newPolicyTestCmd(g *globals) *cobra.Command {
	o := &policyTestOptions{}
	cmd := &cobra.Command{
		Use:   "test [--policy FILE] [--output table|json|junit] PATH...",
		Short: "Run fixture scenarios against a policy module",
		Long: `Run the fixture scenarios found in PATH (fixture files, or directories searched
for *.toml files under a directory named fixtures) against the module each file
names, the module given with --policy, or the embedded default module.

Exit status: 0 every scenario passed; 1 a scenario failed, or its module did
not answer (an answer from the native fallback is never a pass); 2 a usage or
load error, or no scenario found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			if !isFormat(o.output) {
				return &usageError{fmt.Errorf("policy test: --output %q: want one of %s", o.output, strings.Join(fixture.Formats, ", "))}
			}
			return runPolicyTest(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.policy, "policy", "", `module for every fixture file: a .wasm file, a policy directory, or "embedded:default"`)
	f.StringVarP(&o.output, "output", "o", "table", "report format: table, json or junit")
	f.StringVar(&o.cacheDir, "cache-dir", defaultTestCache(), "compilation cache (\"\" = none)")
	return cmd
}

func isFormat(s string) bool {
	for _, f := range fixture.Formats {
		if s == f {
			return true
		}
	}
	return false
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

func runPolicyTest(ctx context.Context, g *globals, o *policyTestOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	r := &fixture.Runner{
		Policy:   o.policy,
		CacheDir: o.cacheDir,
		Logger:   slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if policyBuild != nil {
		r.Build = policyBuild
	}
	defer r.Close(context.Background())
	rep, err := r.Run(ctx, o.paths)
	if err != nil {
		return withCode(2, err)
	}
	if err := fixture.Write(g.stdout, o.output, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return withCode(1, nil)
	}
	return nil
}

func newPolicyInspectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a module's ABI version, metadata, exports, imports, sha256 and size",
		Long: `Show what the host sees of a policy module, without running a decision.
Exit status: 0 the host would load it; 1 it would refuse it (the reason is shown).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return withCode(2, fmt.Errorf("policy inspect: %w", err))
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			info := policy.Inspect(ctx, wasm)
			if err := writeInspect(g, args[0], info); err != nil {
				return err
			}
			if info.Problem != nil {
				return withCode(1, fmt.Errorf("policy inspect: %s: the host would refuse it: %w", args[0], info.Problem))
			}
			return nil
		},
	}
}

func writeInspect(g *globals, file string, info policy.Info) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("file", file)
	row("size", fmt.Sprintf("%d bytes", info.Size))
	row("sha256", info.SHA256)
	if info.ABI != 0 {
		major, minor := hostabi.SplitVersion(info.ABI)
		row("abi", fmt.Sprintf("%d.%d (this host speaks %d.x)", major, minor, hostabi.VersionMajor))
	} else {
		row("abi", "unknown")
	}
	if m := info.Metadata; m != nil {
		row("name", m.Name)
		row("version", m.Version)
		var ds []string
		for _, d := range m.Decisions {
			ds = append(ds, d.String())
		}
		row("decisions", strings.Join(ds, ", "))
		for k, v := range m.Extra {
			row("metadata."+k, v)
		}
		row("identity", m.Name+"@"+info.SHA256[:8])
	}
	list := func(k string, vs []string) {
		if len(vs) == 0 {
			row(k, "(none)")
		}
		for i, v := range vs {
			if i > 0 {
				k = ""
			}
			row(k, v)
		}
	}
	list("exports", info.Exports)
	list("imports", info.Imports)
	if info.Problem != nil {
		row("status", "refused: "+info.Problem.Error())
	} else {
		row("status", "ok")
	}
	return tw.Flush()
}

// newPolicyBuildCmds are "policy build" and "policy new". They call
// policyBuild and policyScaffold (package policy/build).
func newPolicyBuildCmds(g *globals) []*cobra.Command {
	errNoBuild := errors.New("this binary cannot build policies (package policy/build is not linked in)")
	var out string
	build := &cobra.Command{
		Use:   "build DIR -o FILE",
		Short: "Build the Go policy in DIR into a WebAssembly module",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &usageError{errors.New("policy build: -o FILE is required")}
			}
			if policyBuild == nil {
				return fmt.Errorf("policy build: %w", errNoBuild)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := policyBuild(ctx, args[0], out); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "built %s\n", out)
			return nil
		},
	}
	build.Flags().StringVarP(&out, "output", "o", "", "module file to write")
	scaffold := &cobra.Command{
		Use:   "new DIR",
		Short: "Lay out a new Go policy in DIR, with fixtures that pass",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if policyScaffold == nil {
				return fmt.Errorf("policy new: %w", errNoBuild)
			}
			if err := policyScaffold(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created %s: build it with \"supervisor policy build %s -o policy.wasm\", test it with \"supervisor policy test %s\"\n", args[0], args[0], args[0])
			return nil
		},
	}
	return []*cobra.Command{build, scaffold}
}
