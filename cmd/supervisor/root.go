package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// newCmdRoot is the supervisor command with every command under it: the
// one list of the commands of this binary.
func newCmdRoot(f *factory) *cobra.Command {
	root := newCmdBare(f)
	root.AddCommand(
		newCmdProfile(f),
		newCmdGateway(f),
		newCmdExplain(f, nil),
		newCmdPolicy(f),
		newCmdConfig(f),
		newCmdBoot(f, nil),
		newCmdInit(f, nil),
		newCmdRun(f, nil),
		newCmdFinish(f, nil),
		newCmdRegistrar(f, nil),
		newCmdVersion(f, nil),
	)
	root.InitDefaultCompletionCmd()
	root.SetHelpCommand(newCmdHelp())
	groups(root)
	return root
}

// newCmdBare is the root command with the global flags and no command
// under it (tests add the one they parse).
func newCmdBare(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "supervisor",
		Short:         "Supervise hermes gateways under s6, with decisions made by a sandboxed policy module",
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	fl := root.PersistentFlags()
	fl.StringVar(&f.flags.config, "config", "", "configuration file (default $HERMES_CONFIG, ./hermes.toml, /etc/hermes/hermes.toml, built-in defaults)")
	fl.StringVar(&f.flags.home, "home", "", "home directory holding the profiles (overrides home and $HERMES_HOME)")
	fl.StringVar(&f.flags.scandir, "scandir", "", "s6 scan directory (overrides scandir and $S6_PROFILE_GATEWAY_SCANDIR)")
	fl.StringVarP(&f.flags.profile, "profile", "p", profile.Root, "profile name")
	_ = root.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return profileNames(f), cobra.ShellCompDirectiveNoFileComp
	})
	return root
}

// profileNames are the profiles of the volume, for completion.
func profileNames(f *factory) []string {
	c, err := f.Config()
	if err != nil {
		return nil
	}
	names, _, err := profile.List(c.Home)
	if err != nil {
		return nil
	}
	return names
}

// groups makes every command that only holds commands (the root,
// "gateway", "policy", "completion" ...) answer an unknown command with a
// usage error (exit 2), at any depth: cobra would print the help and exit
// 0, and a script running `supervisor gateway stpo` would "succeed". With
// no argument they print their help.
func groups(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Use = c.Name() + " <command>"
		c.SuggestionsMinimumDistance = 2
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
	}
	for _, sub := range c.Commands() {
		groups(sub)
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		for i := range s {
			s[i] = strconv.Quote(s[i])
		}
		msg += "; did you mean " + orList(s) + "?"
	} else {
		msg += fmt.Sprintf("; see `%s --help`", cmd.CommandPath())
	}
	return &usageError{fmt.Errorf("%s", msg)}
}

// newCmdHelp is "help [command]": like cobra's, but an unknown topic is a
// usage error.
func newCmdHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				name := strings.Join(args, " ")
				return usageErrorf("unknown help topic %q: see `supervisor --help`", name)
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// Argument validators: each names the argument that is missing or
// unexpected, with the command's usage line, as a usage error.

// noArgs accepts no argument.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s: unexpected argument %q (usage: %s)", cmd.CommandPath(), args[0], cmd.UseLine())
	}
	return nil
}

// exactArgs accepts exactly the arguments named.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageErrorf("%s: missing argument %s (usage: %s)", cmd.CommandPath(), names[len(args)], cmd.UseLine())
		}
		if len(args) > len(names) {
			return usageErrorf("%s: unexpected argument %q (usage: %s)", cmd.CommandPath(), args[len(names)], cmd.UseLine())
		}
		return nil
	}
}

// minArgs accepts one or more arguments called name.
func minArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErrorf("%s: missing argument %s (usage: %s)", cmd.CommandPath(), name, cmd.UseLine())
		}
		return nil
	}
}
