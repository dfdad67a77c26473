package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionOptions are the options of "supervisor version".
type versionOptions struct {
	IO     *ioStreams
	Format string
	Info   func() (buildInfo, bool)
}

func newCmdVersion(f *factory, runF func(context.Context, *versionOptions) error) *cobra.Command {
	opts := &versionOptions{IO: f.IO, Info: readBuildInfo}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the module version and VCS revision of this binary (also --version)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runVersion(opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

// buildInfo is what the Go toolchain recorded in this binary.
type buildInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`            // the module version; "(devel)" for a build from a checkout without one
	Revision string `json:"revision,omitempty"` // the VCS revision, when built from a checkout
	Time     string `json:"time,omitempty"`     // the revision's commit time
	Modified bool   `json:"modified,omitempty"` // the checkout had uncommitted changes
	Go       string `json:"go"`
}

func readBuildInfo() (buildInfo, bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildInfo{}, false
	}
	out := buildInfo{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.time":
			out.Time = s.Value
		case "vcs.modified":
			out.Modified = s.Value == "true"
		}
	}
	return out, true
}

// String is the one-line version: "supervisor v1.2.0 (revision 0123abcd, 2026-11-25T20:00:00Z, modified) go1.26.8".
func (b buildInfo) String() string {
	v := b.Version
	if v == "" {
		v = "(unknown)"
	}
	s := "supervisor " + v
	if b.Revision != "" {
		rev := b.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " (revision " + rev
		if b.Time != "" {
			s += ", " + b.Time
		}
		if b.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + b.Go
}

// versionLine is what --version prints.
func versionLine() string {
	b, ok := readBuildInfo()
	if !ok {
		return "supervisor (no build information)"
	}
	return b.String()
}

func runVersion(opts *versionOptions) error {
	b, ok := opts.Info()
	if !ok {
		return fmt.Errorf("this binary carries no build information")
	}
	if opts.Format == formatJSON {
		return writeJSON(opts.IO.Out, b)
	}
	_, err := fmt.Fprintln(opts.IO.Out, b.String())
	return err
}
