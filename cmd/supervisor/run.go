package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/runner"
)

// runOptions are the options of "run".
type runOptions struct {
	IO            *ioStreams
	ProfileConfig func() (config.Config, profile.Paths, error)
	NotifyFD      int    // -1 = none
	Verdict       string // the slot's verdict file for its finish script; "" = none
}

func newCmdRun(f *factory, runF func(context.Context, *runOptions) error) *cobra.Command {
	opts := &runOptions{IO: f.IO, ProfileConfig: f.ProfileConfig}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start and supervise the profile's gateway (what an s6 slot's run script execs)",
		Long: `Start the profile's gateway in its own process group and supervise it.
Readiness is written to --notify-fd (s6's notification-fd) as one newline.
A stop signal is classified (operator stop, restart, plain signal), the
policy's shutdown decision is made durable, and only then is the signal
forwarded to the gateway. See supervisor/runner/README.md.

Exit status: on a stop signal, the policy's exit code; when the gateway
exits by itself, its code (128+N when killed by signal N); 111 when the
gateway could not be started: the configuration cannot be read, the volume
cannot be written, or the policy cannot be opened with policy.on_error =
"fail" (the slot then stays down until "gateway start").`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkNotifyFD(opts.NotifyFD); err != nil {
				return err
			}
			if opts.Verdict != "" && !filepath.IsAbs(opts.Verdict) {
				return usageErrorf("--verdict %q: must be an absolute path", opts.Verdict)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.NotifyFD, "notify-fd", -1, "descriptor to write readiness to (s6's notification-fd)")
	cmd.Flags().StringVar(&opts.Verdict, "verdict", "", "the slot's file to hand the verdict to its finish script in (the slot passes it)")
	return cmd
}

func runRun(ctx context.Context, opts *runOptions) error {
	// A supervisor mostly waits: one P is all it needs, and every P holds
	// caches and a thread of its own, in every gateway's supervisor.
	runtime.GOMAXPROCS(1)
	// First of all: a SIGTERM from s6 while the configuration and the
	// policy load must be decided, not kill this process.
	sigs := make(chan os.Signal, 8)
	// Never signal.Stop: until this process has exited, a second SIGTERM
	// (s6-supervise's, after stage 3's kill(-1)) must not kill it with the
	// default action between its decision and its exit.
	signal.Notify(sigs, runner.StopSignals...)
	notify, err := notifyFile(opts.NotifyFD)
	if err != nil {
		return err
	}
	o, err := runtimeOptions(opts.IO, opts.ProfileConfig)
	if err != nil {
		return exitWith(runner.ExitTemporary, err)
	}
	eng, err := engine.Open(ctx, o.Config, o.Logger)
	if err != nil {
		// on_error = "fail" and the module cannot be used (or the
		// [policy] table is unusable): no gateway starts, and s6 does
		// not retry every second.
		return exitWith(runner.Refuse(o, errors.New(plainModuleError(err))), nil)
	}
	defer eng.Close(ctx)
	o.Engine, o.Notify, o.Signals = eng, notify, sigs
	o.YieldCPU = true // this process ends with the stop
	o.ReleaseImage = true
	o.VerdictFile = opts.Verdict
	code, err := runner.Run(ctx, o)
	return exitWith(code, err)
}

// runtimeOptions are the runner's options for the -p profile, without an
// engine.
func runtimeOptions(io *ioStreams, load func() (config.Config, profile.Paths, error)) (runner.Options, error) {
	c, p, err := load()
	if err != nil {
		return runner.Options{}, err
	}
	logger := io.Logger(slog.LevelInfo).With("profile", p.Name)
	return runner.Options{Config: c, Paths: p, Logger: logger, Stdout: io.Out, Stderr: io.ErrOut}, nil
}

// notifyFile validates --notify-fd (s6's notification-fd; -1 = none) and
// returns it as a file, marked close-on-exec so it never leaks to a gateway.
func notifyFile(fd int) (*os.File, error) {
	if fd < 0 {
		return nil, nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, usageErrorf("--notify-fd %d: not an open descriptor: %v", fd, err)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "notification-fd"), nil
}

// checkNotifyFD checks --notify-fd as a number (-1 = none, else 3 or more).
func checkNotifyFD(fd int) error {
	if fd >= 0 && fd <= 2 {
		return usageErrorf("--notify-fd %d: must be 3 or more", fd)
	}
	return nil
}
