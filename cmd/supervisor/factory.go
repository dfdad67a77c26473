package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/ops"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// ioStreams are a command's standard streams, and whether each is a
// terminal: tables are aligned and progress is shown only on a terminal.
type ioStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY, errTTY bool
}

// systemStreams are the process's own streams.
func systemStreams() *ioStreams {
	return &ioStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		outTTY: isTerminal(os.Stdout), errTTY: isTerminal(os.Stderr)}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// IsStdoutTTY reports whether standard output is a terminal.
func (s *ioStreams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *ioStreams) IsStderrTTY() bool { return s.errTTY }

// Progress says on stderr, when stderr is a terminal, what a step that can
// take more than about a second is doing ("building Go policy ./p …").
// A script reading stderr sees nothing of it.
func (s *ioStreams) Progress(format string, args ...any) {
	if s.errTTY {
		fmt.Fprintf(s.ErrOut, format+" …\n", args...)
	}
}

// Warn prints a warning on stderr, as one inert line (show.Text): it
// often quotes the volume (a directory name, a journal line).
func (s *ioStreams) Warn(err error) {
	fmt.Fprintf(s.ErrOut, "supervisor: warning: %s\n", show.Text(err.Error()))
}

// Logger is the logger of the long-running commands (boot, run, finish,
// registrar, init): text lines on stderr, which s6-log or the console
// keeps.
func (s *ioStreams) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(s.ErrOut, &slog.HandlerOptions{Level: level}))
}

// globalFlags are the flags every command accepts.
type globalFlags struct {
	config  string
	home    string
	scandir string
	profile string
}

// factory is what every command is built from: the IO streams, the global
// flags (read when the command runs, after parsing) and the access to the
// configuration and the supervisor packages they need.
type factory struct {
	IO    *ioStreams
	flags globalFlags
	// Executable is the absolute path of this binary, which the slots exec.
	Executable func() (string, error)

	user string // gateway.user of the last configuration loaded, for error messages
}

func newFactory(io *ioStreams) *factory {
	return &factory{IO: io, Executable: selfPath}
}

// Config loads the effective configuration (hermes.toml, the environment,
// the flags) and confines this process to its volume (see package
// volume): from then on no path beneath the home directory is resolved
// through a symlink.
func (f *factory) Config() (config.Config, error) {
	c, err := config.Load(f.flags.config, config.Overrides{Home: f.flags.home, Scandir: f.flags.scandir})
	if err != nil {
		return c, err
	}
	f.user = c.Gateway.User
	if err := volume.Confine(c.Home); err != nil && !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	return c, nil
}

// Volume is Config for a command that works on the volume: the home
// directory must exist.
func (f *factory) Volume() (config.Config, error) {
	c, err := f.Config()
	if err != nil {
		return c, err
	}
	return c, checkHome(c)
}

// checkHome fails with a line naming where the home directory came from
// when it does not exist: without it, commands would report an empty
// volume as if all were well.
func checkHome(c config.Config) error {
	fi, err := os.Stat(c.Home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the home directory %s does not exist (home from %s): set $HERMES_HOME, --home or home in hermes.toml to the volume", c.Home, c.Sources["home"])
	case err != nil:
		return fmt.Errorf("the home directory %s: %w", c.Home, err)
	case !fi.IsDir():
		return fmt.Errorf("the home directory %s is not a directory (home from %s)", c.Home, c.Sources["home"])
	}
	return nil
}

// Ops is the operator API on the volume.
func (f *factory) Ops() (*ops.Ops, error) {
	c, err := f.Volume()
	if err != nil {
		return nil, err
	}
	exe, err := f.Executable()
	if err != nil {
		return nil, err
	}
	return &ops.Ops{Config: c, Tools: &s6.Tools{BinDir: c.S6BinDir}, Exe: exe}, nil
}

// Profile is the -p profile's name.
func (f *factory) Profile() string { return f.flags.profile }

// ProfileConfig is the configuration of the -p profile: hermes.toml with
// its profile.toml merged in.
func (f *factory) ProfileConfig() (config.Config, profile.Paths, error) {
	c, err := f.Config()
	if err != nil {
		return c, profile.Paths{}, err
	}
	p, err := profile.For(c.Home, f.flags.profile)
	if err != nil {
		return c, p, &usageError{err}
	}
	c, err = c.ForProfile(p.Config)
	return c, p, err
}

func (f *factory) gatewayUser() string { return f.user }

// selfPath is the absolute path of this binary, which slots exec.
func selfPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find the supervisor binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return exe, nil
}
