// Command supervisor is the hermes-supervisor command line: the boot
// reconciler, the wrapper that s6 slots exec, the operator lifecycle
// commands and the policy tools.
//
// This package only wires commands, in the pattern of the GitHub CLI: one
// file per command, each with an Options struct (the IO streams and the
// flag values), a constructor that parses and validates the command line
// into it, and a run function that does the work through the supervisor,
// s6 and policy packages. It is the only package that prints to the user,
// and errors become exit codes in exactly one place (exitCode). It holds
// no logic of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
)

// Exit codes of every command. A few commands have codes of their own,
// documented with them: run (the policy's decision, or
// runner.ExitTemporary), finish (lifecycle.FinishStopGood), policy test
// and policy replay (exitUsage also for a load error).
const (
	exitOK      = 0 // done
	exitFailure = 1 // failed; one line on stderr says what and where
	exitUsage   = 2 // bad command line: unknown command or flag, missing or bad argument
)

func main() {
	os.Exit(run(context.Background(), systemStreams(), os.Args[1:]))
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, io *ioStreams, args []string) int {
	if flags, fd, verdict, ok := slotRun(args); ok {
		return runSlot(ctx, io, flags, fd, verdict)
	}
	f := newFactory(io)
	root := newCmdRoot(f)
	root.SetArgs(args)
	return exitCode(f, root.ExecuteContext(ctx))
}

// usageError is a bad command line: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError ends the command with a code of its own.
type exitError struct {
	code int
	err  error // nil: exit silently (the command already said what it had to)
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitWith ends the command with code, printing err (if any) as any error.
func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

// exitCode prints err, if any, as one line on stderr and returns the exit
// code it means. It is the one place where errors become exit codes.
func exitCode(f *factory, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	var ue *usageError
	switch {
	case errors.As(err, &ee):
		code = ee.code
		if ee.err == nil {
			return code
		}
		if errors.As(ee.err, &ue) {
			code = exitUsage
		}
	case errors.As(err, &ue):
		code = exitUsage
	}
	fmt.Fprintln(f.IO.ErrOut, "supervisor: "+message(f, err))
	return code
}

// message is err as the user reads it: with what to do about a permission
// error, and each line inert (show.Text: an error may quote the volume). An
// error is one line, but for a compiler's output quoted by "policy build".
func message(f *factory, err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	for i, l := range lines {
		lines[i] = show.Text(withoutPrefixes(l))
	}
	msg := strings.Join(lines, "\n")
	if errors.Is(err, fs.ErrPermission) && !strings.Contains(msg, " as root") {
		who := "root"
		if u := f.gatewayUser(); u != "" {
			who = "root or the gateway user (" + u + ")"
		}
		msg += ": run this command as " + who
	}
	return msg
}
