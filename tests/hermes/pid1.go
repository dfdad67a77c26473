package hermes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// pid1Env carries, to a re-executed test binary, the command its PID 1
// role runs (a JSON list: the program and its arguments).
const pid1Env = "HERMES_TESTS_PID1_RUN"

// InContainer turns cmd into a command that runs it in a PID namespace
// (and a mount namespace with its own /proc) of its own, under a PID 1
// whose argv is argv, as the container's main program is under s6-overlay
// or tini: upstream's reconciler and the supervisor's boot both read the
// container's command from /proc/1/cmdline (and /proc/*/cmdline), so both
// see argv there. PID 1 is this very binary, re-executed with argv (an
// empty argv is ["pid1"]); its main must call RunPID1IfAsked first.
// Needs root (new namespaces).
func InContainer(ctx context.Context, cmd *exec.Cmd, argv []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("hermes: the test binary to run as PID 1: %w", err)
	}
	run, err := json.Marshal(cmd.Args)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		argv = []string{"pid1"}
	}
	path := cmd.Path
	if len(cmd.Args) > 0 && cmd.Args[0] != path {
		run, _ = json.Marshal(append([]string{path}, cmd.Args[1:]...))
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	out := exec.CommandContext(ctx, self)
	out.Args = append([]string(nil), argv...)
	out.Env = append(append([]string(nil), env...), pid1Env+"="+string(run))
	out.Dir, out.Stdin, out.Stdout, out.Stderr = cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr
	out.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	return out, nil
}

// RunPID1IfAsked does nothing in an ordinary run. In a binary InContainer
// re-executed, it is PID 1: it mounts a /proc of the namespace, runs the
// command it was given (stdio passed on, the rest of the environment
// kept), and exits with its code. Call it first thing in main (or
// TestMain).
func RunPID1IfAsked() {
	spec, ok := os.LookupEnv(pid1Env)
	if !ok {
		return
	}
	os.Exit(runPID1(spec))
}

func runPID1(spec string) int {
	var run []string
	if err := json.Unmarshal([]byte(spec), &run); err != nil || len(run) == 0 {
		fmt.Fprintf(os.Stderr, "pid1: %s=%q: not a command\n", pid1Env, spec)
		return 125
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "pid1: make / private: %v\n", err)
		return 125
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		fmt.Fprintf(os.Stderr, "pid1: mount /proc: %v\n", err)
		return 125
	}
	cmd := exec.Command(run[0], run[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, pid1Env+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "pid1: %v\n", err)
	return 126
}
