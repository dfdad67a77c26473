package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newProfileCmd) }

func newProfileCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Create, delete and list profiles"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Make the profile directory (+ profile.toml) and register its slot (down) if s6 runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.ops()
			if err != nil {
				return err
			}
			res, err := o.CreateProfile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "created profile %s in %s\n", args[0], res.Dir)
			switch {
			case res.Registered:
				fmt.Fprintf(g.stderr, "registered its slot with s6 (down): start it with `supervisor -p %s gateway start`\n", args[0])
			case res.Note != "":
				fmt.Fprintln(g.stderr, res.Note)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a stopped profile: its slot and its directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.ops()
			if err != nil {
				return err
			}
			if err := o.DeleteProfile(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "deleted profile %s\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the profiles, the root profile first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := g.ops()
			if err != nil {
				return err
			}
			names, problems, err := o.ListProfiles()
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(g.stdout, n)
			}
			for _, p := range problems {
				fmt.Fprintf(g.stderr, "warning: %v\n", p)
			}
			return nil
		},
	})
	return cmd
}
