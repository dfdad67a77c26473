package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/registrar"
)

func init() { commands = append(commands, newRegistrarCmd) }

func newRegistrarCmd(g *globals) *cobra.Command {
	notifyFD := -1
	cmd := &cobra.Command{
		Use:   "registrar",
		Short: "Keep the s6 scan directory in step with the profiles (runs as root, as the hermes-registrar service)",
		Long: "registrar is what the hermes-registrar slot runs, as root: it publishes the slot (down) of\n" +
			"every profile that has none, and removes the slot of a profile that is gone and down,\n" +
			"on every change under profiles/ and every 5 s, until SIGTERM or SIGINT. This is how a\n" +
			"profile created by the unprivileged gateway user gets its slot while the scan directory\n" +
			"stays root's. Readiness is written to --notify-fd after the first pass.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			notify, err := notifyFile(notifyFD)
			if err != nil {
				return err
			}
			c, err := g.load()
			if err != nil {
				return err
			}
			exe, err := selfPath()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			r := registrar.New(registrar.Options{
				Config: c, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe, Logger: slog.New(slog.NewTextHandler(g.stderr, nil)),
				Ready: func() {
					if notify != nil {
						_, _ = notify.Write([]byte("\n"))
						notify.Close()
					}
				},
			})
			fmt.Fprintf(g.stderr, "registrar: watching %s for profiles, publishing into %s\n", c.Home, c.Scandir)
			err = r.Run(ctx)
			fmt.Fprintln(g.stderr, "registrar: stopped")
			return err
		},
	}
	cmd.Flags().IntVar(&notifyFD, "notify-fd", -1, "write one newline to this descriptor after the first pass (s6 readiness)")
	return cmd
}
