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

func init() { commands = append(commands, newInitCmd) }

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Local stand-in for s6-overlay's /init: boot, then become s6-svscan on the scan directory",
		Long: "init runs boot, then execs the real s6-svscan on the scan directory, so that s6-svscan\n" +
			"takes this process's place (and PID 1 in a container). On SIGTERM or SIGINT s6-svscan\n" +
			"brings every gateway down through its supervisor (a gateway that ignores SIGTERM is\n" +
			"killed after the slot's timeout-kill) and exits when they are down. A signal that\n" +
			"arrives during boot ends init once boot is done, without starting s6-svscan.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.load()
			if err != nil {
				return err
			}
			svscan, err := (&s6.Tools{BinDir: c.S6BinDir}).Path("s6-svscan")
			if err != nil {
				return err
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if _, err := runBoot(ctx, g, c, false); err != nil {
				return err
			}
			select {
			case s := <-sigs:
				fmt.Fprintf(g.stderr, "init: %v during boot: not starting s6-svscan\n", s)
				return nil
			default:
			}
			signal.Reset(syscall.SIGTERM, syscall.SIGINT)
			err = syscall.Exec(svscan, []string{svscan, c.Scandir}, os.Environ())
			return fmt.Errorf("init: exec %s: %w", svscan, err)
		},
	}
}
