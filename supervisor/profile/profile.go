// Package profile names profiles and the files each keeps on the volume.
//
// A profile name is validated before any path is built from it. The root
// profile "default" lives at the top of the home directory; named profiles
// live under profiles/<name>/. This package builds paths and lists profiles
// (through package volume: a symlinked profiles/ is never listed); it
// reads no file contents and must not import other supervisor packages
// but volume.
package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Root is the name of the root profile, kept at the top of the home directory.
const Root = "default"

// MaxNameLen is the longest profile name, in bytes (a file name holds 255).
const MaxNameLen = 251

// ErrInvalidName is wrapped by every name validation error.
var ErrInvalidName = errors.New("invalid profile name")

// ValidateName checks name against ^[a-z0-9][a-z0-9_-]*$ and the length limit.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidName, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '-'))
		if !ok {
			return fmt.Errorf("%w: %q (want lower-case letters, digits, '_' and '-', starting with a letter or digit)", ErrInvalidName, name)
		}
	}
	return nil
}

// Paths are the files of one profile. Build them with For.
type Paths struct {
	Name      string
	Dir       string // the profile directory
	Config    string // profile.toml
	State     string // gateway_state.json
	Marker    string // .gateway-planned-stop.json
	Pid       string // gateway.pid (runtime; swept at boot)
	Processes string // processes.json (runtime; swept at boot)
	StateDir  string // state/
	Lifecycle string // state/gateway.lifecycle.json
	History   string // state/gateway.exits.json
	Verdict   string // state/gateway.verdict.json (run -> finish hand-over)
	Phase     string // state/gateway.phase (the gateway reports degraded/draining here)
	Journal   string // state/decisions.jsonl
	Logs      string // <home>/logs/gateways/<name>
}

// For returns the paths of profile name under home. It validates name first.
func For(home, name string) (Paths, error) {
	if err := ValidateName(name); err != nil {
		return Paths{}, err
	}
	dir := home
	if name != Root {
		dir = filepath.Join(home, "profiles", name)
	}
	sd := filepath.Join(dir, "state")
	return Paths{
		Name:      name,
		Dir:       dir,
		Config:    filepath.Join(dir, "profile.toml"),
		State:     filepath.Join(dir, "gateway_state.json"),
		Marker:    filepath.Join(dir, ".gateway-planned-stop.json"),
		Pid:       filepath.Join(dir, "gateway.pid"),
		Processes: filepath.Join(dir, "processes.json"),
		StateDir:  sd,
		Lifecycle: filepath.Join(sd, "gateway.lifecycle.json"),
		History:   filepath.Join(sd, "gateway.exits.json"),
		Verdict:   filepath.Join(sd, "gateway.verdict.json"),
		Phase:     filepath.Join(sd, "gateway.phase"),
		Journal:   filepath.Join(sd, "decisions.jsonl"),
		Logs:      filepath.Join(home, "logs", "gateways", name),
	}, nil
}

// BootLog is the container boot log under home.
func BootLog(home string) string { return filepath.Join(home, "logs", "container-boot.log") }

// Problem is a directory under profiles/ that is not a usable profile.
type Problem struct {
	Entry string // the directory entry's name, as found
	Err   error
}

func (p Problem) Error() string { return fmt.Sprintf("profiles/%s: %v", p.Entry, p.Err) }

// List returns the profiles under home: "default" first, then named profiles
// sorted by name. A directory under profiles/ counts as a profile when it
// holds profile.toml or SOUL.md. Entries with invalid names, symlinks and
// directories that cannot be read come back as problems, never silently
// dropped; plain directories without a marker file are not profiles and are
// not reported.
func List(home string) ([]string, []Problem, error) {
	names := []string{Root}
	var problems []Problem
	entries, err := volume.ReadDir(filepath.Join(home, "profiles"))
	if errors.Is(err, os.ErrNotExist) {
		return names, nil, nil
	}
	if err != nil {
		return names, nil, fmt.Errorf("profile: list %s: %w", filepath.Join(home, "profiles"), err)
	}
	for _, e := range entries {
		n := e.Name()
		if len(n) > 0 && n[0] == '.' {
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			problems = append(problems, Problem{n, errors.New("is a symlink; profiles must be real directories")})
			continue
		}
		if !e.IsDir() {
			continue
		}
		if err := ValidateName(n); err != nil || n == Root {
			if err == nil {
				err = fmt.Errorf("%w: %q is reserved for the root profile", ErrInvalidName, n)
			}
			problems = append(problems, Problem{n, err})
			continue
		}
		dir := filepath.Join(home, "profiles", n)
		if isProfileDir(dir) {
			names = append(names, n)
		}
	}
	sort.Strings(names[1:])
	return names, problems, nil
}

func isProfileDir(dir string) bool {
	for _, f := range []string{"profile.toml", "SOUL.md"} {
		if fi, err := volume.Lstat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// Exists reports whether name is a profile under home (the root profile
// always is).
func Exists(home, name string) bool {
	if name == Root {
		return true
	}
	p, err := For(home, name)
	if err != nil {
		return false
	}
	return isProfileDir(p.Dir)
}
