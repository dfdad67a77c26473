package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
)

func init() { commands = append(commands, newConfigCmd) }

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration and where each value came from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.load()
			if err != nil {
				return err
			}
			if g.profile != "default" {
				// profile overrides are shown for the named profile
				if c, err = forProfile(c, g.profile); err != nil {
					return err
				}
			}
			file := c.File
			if file == "" {
				file = "(none: built-in defaults)"
			}
			fmt.Fprintf(g.stdout, "# configuration file: %s\n", file)
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			for _, k := range config.Keys() {
				v, _ := json.Marshal(c.Value(k))
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k, v, c.Sources[k])
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(show)
	return cmd
}
