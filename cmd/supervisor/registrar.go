package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/registrar"
)

// registrarOptions are the options of "registrar".
type registrarOptions struct {
	IO         *ioStreams
	Config     func() (config.Config, error)
	Executable func() (string, error)
	NotifyFD   int // -1 = none
}

func newCmdRegistrar(f *factory, runF func(context.Context, *registrarOptions) error) *cobra.Command {
	opts := &registrarOptions{IO: f.IO, Config: f.Config, Executable: f.Executable}
	cmd := &cobra.Command{
		Use:   "registrar",
		Short: "Keep the s6 scan directory in step with the profiles (runs as root, as the hermes-registrar service)",
		Long: `registrar is what the hermes-registrar slot runs, as root: it publishes the
slot (down) of every profile that has none, and removes the slot of a
profile that is gone and down, on every change under profiles/ and every
5 s, until SIGTERM or SIGINT. This is how a profile created by the
unprivileged gateway user gets its slot while the scan directory stays
root's. Readiness is written to --notify-fd after the first pass.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkNotifyFD(opts.NotifyFD); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRegistrar(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.NotifyFD, "notify-fd", -1, "write one newline to this descriptor after the first pass (s6 readiness)")
	return cmd
}

func runRegistrar(ctx context.Context, opts *registrarOptions) error {
	notify, err := notifyFile(opts.NotifyFD)
	if err != nil {
		return err
	}
	c, err := opts.Config()
	if err != nil {
		return err
	}
	exe, err := opts.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r := registrar.New(registrar.Options{
		Config: c, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe, Logger: opts.IO.Logger(slog.LevelInfo),
		Ready: func() {
			if notify != nil {
				_, _ = notify.Write([]byte("\n"))
				notify.Close()
			}
		},
	})
	fmt.Fprintf(opts.IO.ErrOut, "registrar: watching %s for profiles, publishing into %s\n", c.Home, c.Scandir)
	err = r.Run(ctx)
	fmt.Fprintln(opts.IO.ErrOut, "registrar: stopped")
	return err
}
