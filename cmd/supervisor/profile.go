package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
)

func newCmdProfile(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Create, delete and list profiles"}
	cmd.AddCommand(newCmdProfileCreate(f, nil), newCmdProfileDelete(f, nil), newCmdProfileList(f, nil))
	return cmd
}

// profileOptions are the options of "profile create" and "profile delete".
type profileOptions struct {
	IO   *ioStreams
	Ops  func() (*ops.Ops, error)
	Name string
}

func newCmdProfileCreate(f *factory, runF func(context.Context, *profileOptions) error) *cobra.Command {
	opts := &profileOptions{IO: f.IO, Ops: f.Ops}
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Make the profile directory (+ profile.toml) and register its slot (down) if s6 runs",
		Example: `  supervisor profile create coder
  supervisor -p coder gateway start`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runProfileCreate(cmd.Context(), opts)
		},
	}
}

func runProfileCreate(ctx context.Context, opts *profileOptions) error {
	o, err := opts.Ops()
	if err != nil {
		return err
	}
	res, err := o.CreateProfile(ctx, opts.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "created profile %s in %s\n", opts.Name, res.Dir)
	switch {
	case res.Registered:
		fmt.Fprintf(opts.IO.ErrOut, "registered its slot with s6 (down): start it with `supervisor -p %s gateway start`\n", opts.Name)
	case res.Note != "":
		fmt.Fprintln(opts.IO.ErrOut, res.Note)
	}
	return nil
}

func newCmdProfileDelete(f *factory, runF func(context.Context, *profileOptions) error) *cobra.Command {
	opts := &profileOptions{IO: f.IO, Ops: f.Ops}
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a stopped profile: its slot and its directory",
		Long: `Remove a profile whose gateway is down: its s6 slot and its directory with
everything in it. It works whatever the profile's profile.toml says, and
on a profile whose profile.toml was removed while s6 still had its slot.`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runProfileDelete(cmd.Context(), opts)
		},
	}
}

func runProfileDelete(ctx context.Context, opts *profileOptions) error {
	o, err := opts.Ops()
	if err != nil {
		return err
	}
	if err := o.DeleteProfile(ctx, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "deleted profile %s\n", opts.Name)
	return nil
}

// profileListOptions are the options of "profile list".
type profileListOptions struct {
	IO     *ioStreams
	Ops    func() (*ops.Ops, error)
	Format string
}

func newCmdProfileList(f *factory, runF func(context.Context, *profileListOptions) error) *cobra.Command {
	opts := &profileListOptions{IO: f.IO, Ops: f.Ops}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the profiles, the root profile first",
		Long: `List the profiles: the root profile first, then the named ones by name. A
directory under profiles/ whose profile.toml was removed while s6 still
has its slot is listed too, with a note, so that it can be stopped and
deleted. --output json adds each profile's directory and whether its slot
is registered with s6.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runProfileList(opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

func runProfileList(opts *profileListOptions) error {
	o, err := opts.Ops()
	if err != nil {
		return err
	}
	ps, problems, err := o.Profiles()
	if err != nil {
		return err
	}
	for _, p := range problems {
		opts.IO.Warn(p)
	}
	if opts.Format == formatJSON {
		return writeJSON(opts.IO.Out, ps)
	}
	for _, p := range ps {
		if p.Note != "" {
			fmt.Fprintf(opts.IO.Out, "%s\t(%s)\n", show.Text(p.Name), show.Text(p.Note))
			continue
		}
		fmt.Fprintln(opts.IO.Out, show.Text(p.Name))
	}
	return nil
}
