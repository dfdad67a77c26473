package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
)

// initOptions are the options of "init": a boot, then s6-svscan.
type initOptions struct {
	Boot *bootOptions
	// Exec replaces this process with argv[0] (syscall.Exec).
	Exec func(argv0 string, argv []string, env []string) error
}

func newCmdInit(f *factory, runF func(context.Context, *initOptions) error) *cobra.Command {
	opts := &initOptions{Boot: newBootOptions(f), Exec: syscall.Exec}
	return &cobra.Command{
		Use:   "init",
		Short: "Local stand-in for s6-overlay's /init: boot, then become s6-svscan on the scan directory",
		Long: `init runs boot, then execs the real s6-svscan on the scan directory, so that
s6-svscan takes this process's place (and PID 1 in a container). On SIGTERM
or SIGINT s6-svscan brings every gateway down through its supervisor (a
gateway that ignores SIGTERM is killed after the slot's timeout-kill) and
exits when they are down. A signal that arrives during boot ends init once
boot is done, without starting s6-svscan.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runInit(cmd.Context(), opts)
		},
	}
}

func runInit(ctx context.Context, opts *initOptions) error {
	c, err := opts.Boot.Config()
	if err != nil {
		return err
	}
	svscan, err := (&s6.Tools{BinDir: c.S6BinDir}).Path("s6-svscan")
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if _, err := runBoot(ctx, opts.Boot); err != nil {
		return err
	}
	select {
	case s := <-sigs:
		fmt.Fprintf(opts.Boot.IO.ErrOut, "init: %v during boot: not starting s6-svscan\n", s)
		return nil
	default:
	}
	signal.Reset(syscall.SIGTERM, syscall.SIGINT)
	err = opts.Exec(svscan, []string{svscan, c.Scandir}, os.Environ())
	return fmt.Errorf("init: exec %s: %w", svscan, err)
}
