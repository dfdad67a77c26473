package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policies"
	"github.com/hermes-supervisor/hermes-supervisor/policy/build"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
)

// policyBuildOptions are the options of "policy build".
type policyBuildOptions struct {
	IO    *ioStreams
	Build fixture.Builder
	Dir   string
	Write string // the module file to write
}

func newCmdPolicyBuild(f *factory, runF func(context.Context, *policyBuildOptions) error) *cobra.Command {
	opts := &policyBuildOptions{IO: f.IO, Build: builder(f.IO)}
	cmd := &cobra.Command{
		Use:   "build DIR --write FILE",
		Short: "Build the policy in DIR (Go or AssemblyScript) into a WebAssembly module",
		Long: `Build the policy in DIR into the module FILE, reproducibly, and check that
it exports the ABI. FILE is written only when the module checks out.

DIR is a Go policy when it holds a go.mod or a .go file: a main package
importing the guest SDK, built with the Go toolchain (Go 1.24 or later).
Else it is an AssemblyScript policy when it holds a .ts file (policy.ts, or
its only .ts file): compiled with the AssemblyScript compiler installed in
DIR/node_modules or a node_modules above it ("npm ci --prefix DIR" installs
the one a scaffold pins), with the flags
--runtime stub --use abort= -Oz --noAssert.`,
		Example: `  supervisor policy build mypolicy --write mypolicy.wasm
  supervisor policy inspect mypolicy.wasm`,
		Args: exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if err := checkNoOutputFlag(cmd); err != nil {
				return err
			}
			if opts.Write == "" {
				return usageErrorf("policy build: missing --write FILE, the module file to write (usage: %s)", cmd.UseLine())
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyBuild(cmd.Context(), opts)
		},
	}
	addWriteFlag(cmd, &opts.Write, "module file to write")
	return cmd
}

func runPolicyBuild(ctx context.Context, opts *policyBuildOptions) error {
	if err := opts.Build(ctx, opts.Dir, opts.Write); err != nil {
		return fmt.Errorf("policy build: %s", plainError(err))
	}
	_, err := fmt.Fprintf(opts.IO.ErrOut, "built %s: check it with `supervisor policy inspect %s`\n", opts.Write, shellQuote(opts.Write))
	return err
}

// policyNewOptions are the options of "policy new".
type policyNewOptions struct {
	IO       *ioStreams
	Scaffold func(dir string, lang build.Lang) error
	Lang     build.Lang
	Dir      string
}

// scaffold writes a new policy of lang into dir.
func scaffold(dir string, lang build.Lang) error {
	if lang == build.AssemblyScript {
		return build.ScaffoldAssemblyScript(dir, policies.AssemblyScriptKit)
	}
	return build.Scaffold(dir)
}

func newCmdPolicyNew(f *factory, runF func(context.Context, *policyNewOptions) error) *cobra.Command {
	opts := &policyNewOptions{IO: f.IO, Scaffold: scaffold}
	var lang string
	langs := make([]string, len(build.Langs))
	for i, l := range build.Langs {
		langs[i] = string(l)
	}
	cmd := &cobra.Command{
		Use:   "new DIR [--lang go|assemblyscript]",
		Short: "Lay out a new policy in DIR (Go or AssemblyScript), with fixtures that pass",
		Long: `Write a new policy into DIR (which may exist but must be empty), deciding
like the default policy, with fixtures/policy.toml holding scenarios that
pass as written and a copy of the SDK of this supervisor, named after DIR.

--lang go (the default): main.go, go.mod and .hermes-sdk/ (the Go SDK); it
builds offline with Go 1.24 or later.

--lang assemblyscript: policy.ts, .hermes-sdk/assemblyscript/ (the SDK),
and package.json with package-lock.json pinning the compiler: install it
once with "npm ci --prefix DIR" (Node.js 20 or later).`,
		Example: `  supervisor policy new mypolicy
  supervisor policy new --lang assemblyscript mypolicy && npm ci --prefix mypolicy
  supervisor policy test mypolicy`,
		Args: exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if !slices.Contains(langs, lang) {
				return usageErrorf("policy new: --lang %q: want %s", lang, orList(langs))
			}
			opts.Lang = build.Lang(lang)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyNew(opts)
		},
	}
	cmd.Flags().StringVar(&lang, "lang", string(build.Go), "the policy's language: "+orList(langs))
	_ = cmd.RegisterFlagCompletionFunc("lang", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return langs, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runPolicyNew(opts *policyNewOptions) error {
	if err := opts.Scaffold(opts.Dir, opts.Lang); err != nil {
		return fmt.Errorf("policy new: %s", plainError(err))
	}
	d := shellQuote(opts.Dir)
	install := ""
	if opts.Lang == build.AssemblyScript {
		install = fmt.Sprintf("install its compiler with `npm ci --prefix %s`, then ", d)
	}
	out := shellQuote(filepath.Base(filepath.Clean(opts.Dir)) + ".wasm") // beside the directory, named after it
	_, err := fmt.Fprintf(opts.IO.ErrOut, "created %s policy %s: %stest it with `supervisor policy test %s`, build it with `supervisor policy build %s --write %s`\n",
		opts.Lang.Name(), opts.Dir, install, d, d, out)
	return err
}

// shellQuote quotes s for a POSIX shell when it needs it, so that a
// command printed for copying works as printed.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
