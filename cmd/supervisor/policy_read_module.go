package main

import (
	"context"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// policyReadModuleOptions are the options of "policy read-module", the
// child engine.ReadModuleAs runs as the gateway user.
type policyReadModuleOptions struct {
	IO   *ioStreams
	Path string
}

func newCmdPolicyReadModule(f *factory, runF func(context.Context, *policyReadModuleOptions) error) *cobra.Command {
	opts := &policyReadModuleOptions{IO: f.IO}
	return &cobra.Command{
		Use:    "read-module PATH",
		Short:  "Write the module file PATH to stdout, read as this user (what boot runs as the gateway user)",
		Hidden: true,
		Args:   exactArgs("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPolicyReadModule(opts)
		},
	}
}

// runPolicyReadModule reads the module the way a file of the volume is
// read (package volume: a regular file with one link, the last component
// no symlink, no FIFO waited on, at most policy.MaxModuleSize bytes) with
// this process's credentials, and writes it to stdout.
func runPolicyReadModule(opts *policyReadModuleOptions) error {
	if err := volume.Confine(filepath.Dir(opts.Path)); err != nil {
		return err
	}
	b, err := volume.ReadFile(opts.Path, policy.MaxModuleSize)
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(b)
	return err
}
