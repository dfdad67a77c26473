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
	"strconv"
	"unicode/utf8"

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

// Paths are the files of one profile. Build them with For. Which side
// writes each file, and how concurrent writers merge, is the table in
// package state's doc.
type Paths struct {
	Name          string
	Dir           string // the profile directory
	Config        string // profile.toml
	Soul          string // SOUL.md (hermes' own marker of a profile; never read)
	State         string // gateway_state.json (written by both the gateway and the supervisor)
	Marker        string // .gateway-planned-stop.json
	Pid           string // gateway.pid (the gateway's; swept at boot, never written by the supervisor)
	Processes     string // processes.json (the gateway's; swept at boot)
	StateDir      string // state/
	Ledger        string // state/supervisor.lifecycle.json (the supervisor's lifecycle ledger)
	GatewayLedger string // state/gateway.lifecycle.json (the gateway's own ledger; read for prior_exit, never written)
	History       string // state/gateway.exits.json
	Verdict       string // state/gateway.verdict.json (run -> finish hand-over)
	Phase         string // state/gateway.phase (the gateway reports degraded/draining here)
	Journal       string // state/decisions.jsonl
	Logs          string // <home>/logs/gateways/<name>
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
		Name:          name,
		Dir:           dir,
		Config:        filepath.Join(dir, "profile.toml"),
		Soul:          filepath.Join(dir, "SOUL.md"),
		State:         filepath.Join(dir, "gateway_state.json"),
		Marker:        filepath.Join(dir, ".gateway-planned-stop.json"),
		Pid:           filepath.Join(dir, "gateway.pid"),
		Processes:     filepath.Join(dir, "processes.json"),
		StateDir:      sd,
		Ledger:        filepath.Join(sd, "supervisor.lifecycle.json"),
		GatewayLedger: filepath.Join(sd, "gateway.lifecycle.json"),
		History:       filepath.Join(sd, "gateway.exits.json"),
		Verdict:       filepath.Join(sd, "gateway.verdict.json"),
		Phase:         filepath.Join(sd, "gateway.phase"),
		Journal:       filepath.Join(sd, "decisions.jsonl"),
		Logs:          filepath.Join(home, "logs", "gateways", name),
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

// QuoteName is name as logs write it: bare when it is a valid profile
// name, Go-quoted otherwise (so that a name with a space, a quote or a
// newline never breaks a line).
func QuoteName(name string) string {
	if ValidateName(name) == nil {
		return name
	}
	return strconv.Quote(name)
}

// Kind is what an entry of profiles/ is to boot.
type Kind int

const (
	// KindProfile is a profile: a real directory with a valid name
	// holding a marker (SOUL.md or profile.toml).
	KindProfile Kind = iota
	// KindRefused would be a profile to upstream's reconciler (it holds a
	// marker) but is refused here: an invalid name, a symlink, a
	// directory whose marker cannot be looked up. Boot gives it a
	// skipped line in the boot log.
	KindRefused
	// KindRootName is profiles/default holding a marker: "default" is
	// the root profile, which lives at the top of the volume. Boot gives
	// it no line (a log reader would take it for the root profile) and
	// says so on stderr.
	KindRootName
	// KindIgnored is a directory (or a symlink) under profiles/ that is
	// no profile: no marker, or hidden. Boot says so on stderr.
	KindIgnored
)

// Entry is one entry of profiles/ as boot sees it.
type Entry struct {
	Name    string
	Kind    Kind
	Err     error // why it is not booted (every kind but KindProfile)
	Symlink bool  // the entry is a symlink (never followed to boot a profile)
}

// Problem is the entry as a Problem (for the kinds that are not profiles).
func (e Entry) Problem() Problem { return Problem{e.Name, e.Err} }

// Scan is what boot finds under the volume: every entry of profiles/
// that is a directory or a symlink, in code-point order of the names.
type Scan struct {
	Entries []Entry
	// NotListed says why no named profile could be looked at at all
	// (profiles/ is a regular file, a symlink, unreadable); nil when
	// profiles/ is a directory or missing. The root profile boots anyway.
	NotListed error
}

// Markers: a directory under profiles/ is a profile when it holds one.
// SOUL.md is hermes' own (upstream's reconciler looks for it alone);
// profile.toml is this supervisor's (supervisor profile create writes it).
const (
	MarkerSoul   = "SOUL.md"
	MarkerConfig = "profile.toml"
)

// ScanProfiles reads profiles/ under home, through package volume: a
// symlinked profiles/ is not listed (NotListed says so), and no symlink
// is followed out of the volume.
//
// A directory counts as a profile when it holds SOUL.md or profile.toml.
// SOUL.md counts as upstream's reconciler counts it: by existence alone,
// never read, whatever it is (a file, a directory, a FIFO, a symlink that
// resolves to something without leaving the volume; see volume.Exists);
// profile.toml must be a regular file (it is read as configuration).
// Hidden entries (a leading '.') are ignored; profiles/default is
// KindRootName; a symlink holding a marker, an invalid name holding one, or
// a directory whose marker cannot be looked up is KindRefused; any other
// directory or symlink is KindIgnored. Regular files and other non-
// directories under profiles/ are not entries.
//
// The order is Python's order of str, which upstream's reconciler sorts by:
// code points, a byte that is not UTF-8 counting as U+DC80+byte-0x80
// (surrogateescape).
func ScanProfiles(home string) Scan {
	var s Scan
	dir := filepath.Join(home, "profiles")
	fi, err := volume.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s
	case err != nil:
		s.NotListed = fmt.Errorf("profiles/: %w", unwrapPath(err))
		return s
	case fi.Mode()&os.ModeSymlink != 0:
		s.NotListed = errors.New("profiles/ is a symlink, not followed: no named profile is booted")
		return s
	case !fi.IsDir():
		what := "regular file"
		if !fi.Mode().IsRegular() {
			what = volume.Kind(fi.Mode())
		}
		s.NotListed = fmt.Errorf("profiles/ is a %s, not a directory: no named profile is booted", what)
		return s
	}
	ents, err := volume.ReadDir(dir)
	if err != nil {
		s.NotListed = fmt.Errorf("profiles/: %w", unwrapPath(err))
		return s
	}
	for _, e := range ents {
		n := e.Name()
		link := e.Type()&os.ModeSymlink != 0
		if !e.IsDir() && !link {
			continue
		}
		if len(n) > 0 && n[0] == '.' {
			s.Entries = append(s.Entries, Entry{n, KindIgnored, errors.New("hidden, ignored"), link})
			continue
		}
		has, err := hasMarker(filepath.Join(dir, n), !link)
		add := func(k Kind, err error) { s.Entries = append(s.Entries, Entry{n, k, err, link}) }
		switch {
		case err != nil:
			add(KindRefused, fmt.Errorf("cannot look for its marker: %w", unwrapPath(err)))
		case !has && link:
			add(KindIgnored, errors.New("is a symlink; profiles must be real directories (and it leads to no profile on the volume)"))
		case !has:
			add(KindIgnored, fmt.Errorf("holds neither %s nor %s: not a profile", MarkerSoul, MarkerConfig))
		case link:
			add(KindRefused, errors.New("is a symlink; profiles must be real directories"))
		case n == Root:
			add(KindRootName, fmt.Errorf("%w: %q is reserved for the root profile, which lives at the top of the volume; not booted", ErrInvalidName, n))
		default:
			if err := ValidateName(n); err != nil {
				add(KindRefused, err)
				continue
			}
			add(KindProfile, nil)
		}
	}
	sort.SliceStable(s.Entries, func(i, j int) bool { return pyLess(s.Entries[i].Name, s.Entries[j].Name) })
	return s
}

// List returns the profiles under home: "default" first, then named
// profiles in code-point order (see ScanProfiles). Entries that hold a
// marker but are not usable (an invalid name, profiles/default) and every
// symlink (not hidden) come back as problems, never silently dropped;
// directories without a marker and hidden entries are not profiles and are
// not reported. It fails only when profiles/ exists and cannot be listed.
func List(home string) ([]string, []Problem, error) {
	names := []string{Root}
	s := ScanProfiles(home)
	if s.NotListed != nil {
		return names, nil, fmt.Errorf("profile: list %s: %w", filepath.Join(home, "profiles"), s.NotListed)
	}
	var problems []Problem
	for _, e := range s.Entries {
		switch e.Kind {
		case KindProfile:
			names = append(names, e.Name)
		case KindRefused, KindRootName:
			problems = append(problems, e.Problem())
		case KindIgnored:
			if e.Symlink && (e.Name == "" || e.Name[0] != '.') {
				problems = append(problems, e.Problem())
			}
		}
	}
	return names, problems, nil
}

// hasMarker reports whether dir holds a profile's marker. real says dir
// is a directory itself (not a symlink to one): its profile.toml is
// looked at too.
func hasMarker(dir string, real bool) (bool, error) {
	if real {
		if fi, err := volume.Lstat(filepath.Join(dir, MarkerConfig)); err == nil && fi.Mode().IsRegular() {
			return true, nil
		}
	}
	return volume.Exists(filepath.Join(dir, MarkerSoul))
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
	fi, err := volume.Lstat(p.Dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	ok, err := hasMarker(p.Dir, true)
	return ok && err == nil
}

// pyLess orders names as Python orders str: by code point, each byte that
// is not part of valid UTF-8 standing for U+DC80+(byte-0x80), as
// os.fsdecode's surrogateescape decodes it.
func pyLess(a, b string) bool {
	for a != "" && b != "" {
		ra, na := pyRune(a)
		rb, nb := pyRune(b)
		if ra != rb {
			return ra < rb
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b != ""
}

func pyRune(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return 0xDC00 + rune(s[0]), 1
	}
	return r, n
}

// unwrapPath drops the path an *os.PathError repeats: the messages here
// name the entry themselves.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
