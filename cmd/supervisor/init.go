package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
)

// initOptions are the options of "init": a boot, then s6-svscan, then, at
// the stop, s6-overlay's stage 3.
type initOptions struct {
	Boot *bootOptions
	// StopBudget bounds the stop step ($HERMES_STOP_BUDGET_MS, as the
	// image's cont-finish.d step reads it).
	StopBudget time.Duration
	// KillGrace is the wait between kill(-1, SIGTERM) and kill(-1,
	// SIGKILL) ($S6_KILL_GRACETIME, as s6-overlay reads it).
	KillGrace time.Duration
}

// Defaults of initOptions, s6-overlay's and the image's.
const (
	defaultKillGrace  = 3 * time.Second  // s6-overlay's S6_KILL_GRACETIME
	defaultStopBudget = 15 * time.Second // the image's HERMES_STOP_BUDGET_MS: stop_grace 10s + 5s
)

func newCmdInit(f *factory, runF func(context.Context, *initOptions) error) *cobra.Command {
	opts := &initOptions{Boot: newBootOptions(f)}
	return &cobra.Command{
		Use:   "init",
		Short: "Local stand-in for s6-overlay's /init: boot, run s6-svscan, and stop the way s6-overlay's stage 3 does",
		Long: `init runs boot, then s6-svscan on the scan directory, as PID 1 of a container.
On SIGTERM or SIGINT (docker stop) it does what s6-overlay's stage 3 does
with the image's stop step (s6/overlay/cont-finish.d/50-hermes-gateways):

  1. the stop step: s6-svscan takes every slot down at once, each gateway
     through its supervisor, and exits once all are down and finished;
     init waits for it at most $HERMES_STOP_BUDGET_MS (15000; 0 skips the
     step, as an image without it);
  2. kill(-1, SIGTERM): every other process of the container;
  3. at most $S6_KILL_GRACETIME (3000) ms later, kill(-1, SIGKILL);

then exits. (s6-overlay always sleeps the whole grace; init stops waiting
once nothing is left.) Not PID 1 (no PID namespace), it never signals -1:
it asks s6-svscan to exit instead. A signal that arrives during boot ends
init once boot is done, without starting s6-svscan.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.StopBudget, err = envMillis("HERMES_STOP_BUDGET_MS", defaultStopBudget); err != nil {
				return err
			}
			if opts.KillGrace, err = envMillis("S6_KILL_GRACETIME", defaultKillGrace); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runInit(cmd.Context(), opts)
		},
	}
}

// envMillis reads a duration in milliseconds from the environment.
func envMillis(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, &usageError{fmt.Errorf("$%s=%q: want a whole number of milliseconds", name, v)}
	}
	return time.Duration(n) * time.Millisecond, nil
}

func runInit(ctx context.Context, opts *initOptions) error {
	c, err := opts.Boot.Config()
	if err != nil {
		return err
	}
	tools := &s6.Tools{BinDir: c.S6BinDir}
	svscan, err := tools.Path("s6-svscan")
	if err != nil {
		return err
	}
	errOut := opts.Boot.IO.ErrOut
	pid1 := os.Getpid() == 1
	stops := make(chan os.Signal, 1)
	signal.Notify(stops, syscall.SIGTERM, syscall.SIGINT)
	children := make(chan os.Signal, 1)
	if pid1 {
		signal.Notify(children, syscall.SIGCHLD) // PID 1 reaps every orphan
	}
	if _, err := runBoot(ctx, opts.Boot); err != nil {
		return err
	}
	select {
	case s := <-stops:
		fmt.Fprintf(errOut, "init: %v during boot: not starting s6-svscan\n", s)
		return nil
	default:
	}
	p, err := os.StartProcess(svscan, []string{svscan, c.Scandir}, &os.ProcAttr{
		Env: os.Environ(), Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		return fmt.Errorf("init: start %s: %w", svscan, err)
	}
	scanner := p.Pid
	for {
		select {
		case <-children:
			if reap(scanner) {
				return fmt.Errorf("init: s6-svscan exited by itself")
			}
		case s := <-stops:
			fmt.Fprintf(errOut, "init: %v: stopping the container\n", s)
			return stage3(ctx, opts, tools, c.Scandir, scanner, pid1, children)
		}
	}
}

// stage3 is s6-overlay's stage 3 with the image's stop step.
func stage3(ctx context.Context, opts *initOptions, tools *s6.Tools, scandir string, scanner int, pid1 bool, children <-chan os.Signal) error {
	errOut := opts.Boot.IO.ErrOut
	down := false
	if opts.StopBudget == 0 {
		fmt.Fprintln(errOut, "init: no stop step ($HERMES_STOP_BUDGET_MS=0): kill(-1) stops the gateways")
	} else {
		// The stop step: s6-svscan's own teardown takes every slot down
		// at once (each s6-supervise signals its "supervisor run", which
		// makes its decision durable, then signals its gateway) and exits
		// when all are down and finished.
		start := time.Now()
		if err := syscall.Kill(scanner, syscall.SIGTERM); err != nil {
			_ = tools.Shutdown(ctx, scandir)
		}
		deadline := time.After(opts.StopBudget)
	wait:
		for !down {
			select {
			case <-children:
				down = reap(scanner)
			case <-time.After(10 * time.Millisecond):
				down = reap(scanner) // not PID 1: no SIGCHLD asked for
			case <-deadline:
				break wait
			}
		}
		if down {
			fmt.Fprintf(errOut, "init: stop step: every slot down in %s\n", time.Since(start).Round(time.Millisecond))
		} else {
			fmt.Fprintf(errOut, "init: stop step: slots still up after %s\n", opts.StopBudget)
		}
	}
	if !pid1 {
		// No PID namespace: kill(-1) would reach the whole machine.
		for !down {
			_ = syscall.Kill(scanner, syscall.SIGKILL)
			down = reap(scanner)
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}
	_ = syscall.Kill(-1, syscall.SIGTERM)
	deadline := time.Now().Add(opts.KillGrace)
	for others() && time.Now().Before(deadline) {
		select {
		case <-children:
			reap(0)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if others() {
		fmt.Fprintf(errOut, "init: processes left %s after SIGTERM: SIGKILL\n", opts.KillGrace)
		_ = syscall.Kill(-1, syscall.SIGKILL)
	}
	for others() {
		reap(0)
		time.Sleep(time.Millisecond)
	}
	return nil
}

// reap collects every exited child; it reports whether pid was one.
func reap(pid int) bool {
	found := false
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if got <= 0 || err != nil {
			return found
		}
		if got == pid {
			found = true
		}
	}
}

// others reports whether any process but this one (PID 1) is left in the
// PID namespace.
func others() bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	self := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		if n := e.Name(); n[0] >= '0' && n[0] <= '9' && n != self {
			return true
		}
	}
	return false
}
