// Command supervisor is the hermes-supervisor command line: the boot
// reconciler, the wrapper that s6 slots exec, the operator lifecycle
// commands and the policy tools.
//
// This package only wires commands: it parses flags, calls into the
// supervisor, s6 and policy packages, prints, and maps errors to exit codes
// in exactly one place (main). It holds no logic of its own.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// exitError carries a specific exit code up to main.
type exitError struct {
	code int
	err  error // nil: exit silently (the command already printed what it had to)
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageError marks a bad command line (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// globals are the flags every command accepts.
type globals struct {
	configFile string
	home       string
	scandir    string
	profile    string
	stdout     io.Writer
	stderr     io.Writer
}

// load reads the effective configuration and confines this process to
// its volume (see package volume): from then on no path beneath the home
// directory is resolved through a symlink.
func (g *globals) load() (config.Config, error) {
	c, err := config.Load(g.configFile, config.Overrides{Home: g.home, Scandir: g.scandir})
	if err != nil {
		return c, err
	}
	if err := volume.Confine(c.Home); err != nil && !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	return c, nil
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "supervisor",
		Short:         "Supervise hermes gateways under s6, with decisions made by a sandboxed policy module",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	f := root.PersistentFlags()
	f.StringVar(&g.configFile, "config", "", "configuration file (default $HERMES_CONFIG, ./hermes.toml, /etc/hermes/hermes.toml, built-in defaults)")
	f.StringVar(&g.home, "home", "", "home directory holding the profiles (overrides home and $HERMES_HOME)")
	f.StringVar(&g.scandir, "scandir", "", "s6 scan directory (overrides scandir and $S6_PROFILE_GATEWAY_SCANDIR)")
	f.StringVarP(&g.profile, "profile", "p", "default", "profile name")
	for _, add := range commands {
		root.AddCommand(add(g))
	}
	return root
}

// commands are registered by the files of this package, one per command.
var commands []func(*globals) *cobra.Command

func main() {
	g := &globals{stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(run(g, os.Args[1:]))
}

// run executes the command line and returns the exit code. It is the one
// place where errors become exit codes.
func run(g *globals, args []string) int {
	root := newRoot(g)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(g.stderr, "supervisor:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(g.stderr, "supervisor:", err)
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return 2
	}
	return 1
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which it returns as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand", "invalid argument"} {
		if len(msg) >= len(p) && containsFold(msg, p) {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
