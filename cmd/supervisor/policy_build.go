package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

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
		Short: "Build the Go policy in DIR into a WebAssembly module",
		Long: `Build the Go policy in DIR (a main package importing the guest SDK) into
the module FILE, reproducibly, and check that it exports ABI 1.0. FILE is
written only when the module checks out.`,
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
	Scaffold func(dir string) error
	Dir      string
}

func newCmdPolicyNew(f *factory, runF func(context.Context, *policyNewOptions) error) *cobra.Command {
	opts := &policyNewOptions{IO: f.IO, Scaffold: build.Scaffold}
	return &cobra.Command{
		Use:   "new DIR",
		Short: "Lay out a new Go policy in DIR, with fixtures that pass",
		Long: `Write a new Go policy into DIR (which may exist but must be empty): main.go
deciding like the default policy, fixtures/policy.toml with scenarios that
pass as written, go.mod, and a copy of the SDK, so that it builds offline.`,
		Example: `  supervisor policy new mypolicy
  supervisor policy test mypolicy`,
		Args: exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyNew(opts)
		},
	}
}

func runPolicyNew(opts *policyNewOptions) error {
	if err := opts.Scaffold(opts.Dir); err != nil {
		return fmt.Errorf("policy new: %s", plainError(err))
	}
	d := shellQuote(opts.Dir)
	_, err := fmt.Fprintf(opts.IO.ErrOut, "created %s: test it with `supervisor policy test %s`, build it with `supervisor policy build %s --write policy.wasm`\n", opts.Dir, d, d)
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
