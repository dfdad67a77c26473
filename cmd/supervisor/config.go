package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

func newCmdConfig(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect and check the configuration"}
	cmd.AddCommand(newCmdConfigShow(f, nil), newCmdConfigCheck(f, nil))
	return cmd
}

// configShowOptions are the options of "config show".
type configShowOptions struct {
	IO      *ioStreams
	Config  func() (config.Config, error)
	Profile string
	Format  string
}

func newCmdConfigShow(f *factory, runF func(context.Context, *configShowOptions) error) *cobra.Command {
	opts := &configShowOptions{IO: f.IO, Config: f.Config}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration and where each value came from",
		Long: `Print every setting with its effective value and where it came from
(default, a file, an environment variable or a flag). With -p NAME, the
profile's profile.toml is merged in. It shows what would be used; to find
every mistake in hermes.toml and the profiles, run "supervisor config check".`,
		Example: `  supervisor config show
  supervisor -p coder config show --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Profile = f.Profile()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runConfigShow(opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

// shownSetting is one row of "config show".
type shownSetting struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source string `json:"source"`
}

func runConfigShow(opts *configShowOptions) error {
	c, err := opts.Config()
	if err != nil {
		return err
	}
	if opts.Profile != profile.Root {
		p, err := profile.For(c.Home, opts.Profile)
		if err != nil {
			return &usageError{err}
		}
		if c, err = c.ForProfile(p.Config); err != nil {
			return err
		}
	}
	if err := quickModuleCheck(c); err != nil {
		opts.IO.Warn(fmt.Errorf("%w; `supervisor config check` checks the whole configuration", err))
	}
	var rows []shownSetting
	for _, k := range config.Keys() {
		rows = append(rows, shownSetting{Key: k, Value: c.Value(k), Source: c.Sources[k]})
	}
	if opts.Format == formatJSON {
		return writeJSON(opts.IO.Out, struct {
			File     string         `json:"file"`
			Profile  string         `json:"profile"`
			Settings []shownSetting `json:"settings"`
		}{c.File, opts.Profile, rows})
	}
	file := c.File
	if file == "" {
		file = "(none: built-in defaults)"
	}
	fmt.Fprintf(opts.IO.Out, "# configuration file: %s\n", file)
	t := newTable(opts.IO)
	for _, r := range rows {
		v, _ := json.Marshal(r.Value)
		t.Row(r.Key, string(v), r.Source)
	}
	return t.Flush()
}

// quickModuleCheck is what can be said of the configured policy module
// without compiling it: whether it can be read and matches its pin.
func quickModuleCheck(c config.Config) error {
	if c.Policy.Module == "" {
		return nil
	}
	b, err := policy.ReadModule(c.Policy.Module)
	if err != nil {
		return fmt.Errorf("policy module %s cannot be read: %w", c.Policy.Module, err)
	}
	sum := sha256.Sum256(b)
	if d := hex.EncodeToString(sum[:]); c.Policy.SHA256 != "" && d != c.Policy.SHA256 {
		return fmt.Errorf("policy module %s does not match policy.sha256 (the file has %s): the host refuses it", c.Policy.Module, d)
	}
	return nil
}
