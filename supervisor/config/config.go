// Package config loads hermes.toml and a profile's profile.toml into the
// effective configuration, remembering where each value came from.
//
// Precedence, highest first: command-line flags, environment variables
// (HERMES_HOME, S6_PROFILE_GATEWAY_SCANDIR), the configuration file, the
// built-in defaults (which are the ones documented in hermes.toml).
//
// A profile.toml may override the [gateway] and [policy] tables for its
// profile, within what hermes.toml allows: the file is written by the
// gateway user, so it may not set gateway.user (who runs) or
// policy.cache_dir (where root keeps compiled code), and may lower but not
// raise policy.timeout and policy.memory_limit. Its other top-level keys and
// tables are hermes' own and are ignored.
//
// Unknown keys are refused, naming the file and the key and suggesting the
// nearest known one, so that a typo never silently falls back to a default.
// Load and ForProfile stop at the first problem; Check and CheckProfile
// return every problem found (see Problem).
//
// Every setting is defined once: a field of Config (or of one of its tables)
// with a toml tag and a doc comment, and its value in Default. Keys, Value,
// Sources, the unknown-key check and the profile rules are derived from the
// tags (see settings.go). A field may carry a profile tag:
//
//	`profile:"-"`     may only be set in hermes.toml (as every key outside a table)
//	`profile:"lower"` a profile.toml may lower it, not raise it (numeric types)
//
// This package reads files only; it must not import other supervisor packages.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the effective configuration.
type Config struct {
	// Home is the volume holding the profiles ($HERMES_HOME, --home).
	Home string `toml:"home"`
	// Scandir is the s6 scan directory ($S6_PROFILE_GATEWAY_SCANDIR, --scandir).
	Scandir string `toml:"scandir"`
	// S6BinDir is where the s6 programs are; "" = PATH, then /command.
	S6BinDir string `toml:"s6_bin_dir"`
	// Registrar makes boot publish the hermes-registrar service, which
	// registers the slots of profiles created after boot (by any user).
	Registrar bool    `toml:"registrar"`
	Gateway   Gateway `toml:"gateway"`
	Policy    Policy  `toml:"policy"`

	// File is the configuration file that was read, "" for built-in defaults.
	File string `toml:"-"`
	// Sources maps a dotted key ("gateway.stop_grace") to where its value
	// came from: "default", a file path, "env NAME" or "flag --name".
	Sources map[string]string `toml:"-"`
}

// Gateway is the [gateway] table.
type Gateway struct {
	// Command is the gateway program that `supervisor run` wraps.
	Command []string `toml:"command"`
	// ProfileArgs are appended to Command for named profiles ({profile} is
	// replaced by the name).
	ProfileArgs []string `toml:"profile_args"`
	// User is who the gateway runs as when the supervisor is root; "" = do
	// not drop. Never from profile.toml: the gateway user writes that file.
	User string `toml:"user" profile:"-"`
	// StopGrace is the time from SIGTERM to SIGKILL.
	StopGrace Duration `toml:"stop_grace"`
	// ReadyAfter is how long a gateway must be alive to count as running,
	// unless it notifies readiness itself.
	ReadyAfter Duration `toml:"ready_after"`
}

// Policy is the [policy] table.
type Policy struct {
	// Module is the path of a .wasm policy; "" = the embedded default.
	Module string `toml:"module"`
	// SHA256 pins the module file (64 hex digits, stored lower-case).
	SHA256 string `toml:"sha256"`
	// Timeout bounds one decision. A profile may only lower it.
	Timeout Duration `toml:"timeout" profile:"lower"`
	// MemoryLimit bounds the module's linear memory. A profile may only lower it.
	MemoryLimit ByteSize `toml:"memory_limit" profile:"lower"`
	// OnError is OnErrorFallback or OnErrorFail.
	OnError string `toml:"on_error"`
	// CacheDir holds compiled modules, one directory per uid (uid-<N>).
	// Root loads machine code from it, so it is never on the volume and
	// never set by a profile.toml; "" = no compilation cache.
	CacheDir string `toml:"cache_dir" profile:"-"`
	// Params are handed to the policy as-is.
	Params map[string]any `toml:"params"`
}

// On-error modes.
const (
	OnErrorFallback = "fallback"
	OnErrorFail     = "fail"
)

// DefaultCacheDir is policy.cache_dir's default: root's, outside the volume.
const DefaultCacheDir = "/var/cache/hermes-supervisor"

// Default returns the built-in defaults, the same values hermes.toml documents.
func Default() Config {
	c := Config{
		Home:      "/opt/data",
		Scandir:   "/run/service",
		Registrar: true,
		Gateway: Gateway{
			Command:     []string{"hermes", "gateway", "run", "--replace"},
			ProfileArgs: []string{"-p", "{profile}"},
			User:        "hermes",
			StopGrace:   Duration(10 * time.Second),
			ReadyAfter:  Duration(2 * time.Second),
		},
		Policy: Policy{
			Timeout:     Duration(100 * time.Millisecond),
			MemoryLimit: 16 << 20,
			CacheDir:    DefaultCacheDir,
			OnError:     OnErrorFallback,
			Params:      map[string]any{"multiplex_profiles": false},
		},
		Sources: make(map[string]string, len(settings)),
	}
	for _, s := range settings {
		c.Sources[s.key] = "default"
	}
	return c
}

// Overrides are the command-line flags that override settings ("" = not given).
type Overrides struct {
	Home    string
	Scandir string
}

// Candidates returns the files Load tries when no --config is given, in order.
func Candidates() []string {
	var c []string
	if v := os.Getenv("HERMES_CONFIG"); v != "" {
		c = append(c, v)
	}
	return append(c, "hermes.toml", "/etc/hermes/hermes.toml")
}

// Load reads the configuration. path is the --config flag: when given, the
// file must exist. Otherwise $HERMES_CONFIG (which must exist when set),
// ./hermes.toml, /etc/hermes/hermes.toml are tried, and the built-in defaults
// are used when none exists.
//
// The error is the first problem Check finds, a Problem; it wraps
// os.ErrNotExist when the file is missing.
func Load(path string, o Overrides) (Config, error) {
	c, ps := Check(path, o)
	return c, first(ps)
}

// Check is Load that does not stop at the first problem: it returns the
// configuration with every valid value applied (a value at fault keeps the
// one of lower precedence) and every problem found, in file order, then the
// range checks of Validate. A file that cannot be read or is not TOML is
// one problem. No problem means Load would succeed with the same Config.
func Check(path string, o Overrides) (Config, []Problem) {
	c := Default()
	if path == "" {
		if v := os.Getenv("HERMES_CONFIG"); v != "" {
			path = v
		} else {
			for _, cand := range Candidates() {
				if _, err := os.Stat(cand); err == nil {
					path = cand
					break
				}
			}
		}
	}
	var ps []Problem
	if path != "" {
		var read bool
		ps, read = c.merge(path, false)
		if read {
			c.File = path
		}
	}
	if v := os.Getenv("HERMES_HOME"); v != "" {
		c.Home, c.Sources["home"] = v, "env HERMES_HOME"
	}
	if v := os.Getenv("S6_PROFILE_GATEWAY_SCANDIR"); v != "" {
		c.Scandir, c.Sources["scandir"] = v, "env S6_PROFILE_GATEWAY_SCANDIR"
	}
	if o.Home != "" {
		c.Home, c.Sources["home"] = o.Home, "flag --home"
	}
	if o.Scandir != "" {
		c.Scandir, c.Sources["scandir"] = o.Scandir, "flag --scandir"
	}
	return c, append(ps, c.problems()...)
}

// ForProfile returns c with the [gateway] and [policy] tables of the
// profile's profile.toml (at path) merged in. A missing file is no error.
// The error is the first problem CheckProfile finds, a Problem; c itself is
// returned with it.
func (c Config) ForProfile(path string) (Config, error) {
	out, ps := c.CheckProfile(path)
	if len(ps) > 0 {
		return c.clone(), ps[0]
	}
	return out, nil
}

// CheckProfile is ForProfile that does not stop at the first problem: it
// returns c with every valid value of the profile.toml at path merged in,
// and every problem found (see Check). A missing file has no problem.
func (c Config) CheckProfile(path string) (Config, []Problem) {
	out := c.clone()
	ps, read := out.merge(path, true)
	if !read {
		for _, p := range ps {
			if errors.Is(p, os.ErrNotExist) {
				return c.clone(), nil
			}
		}
		return out, ps
	}
	if p, ok := out.profileModule(c, path); !ok {
		ps = append(ps, p)
		out.Policy.Module, out.Sources["policy.module"] = c.Policy.Module, c.Sources["policy.module"]
	}
	return out, append(ps, out.problems()...)
}

// profileModule checks the policy module a profile.toml at path names:
// the embedded default (""), the module of base (hermes.toml's), or a file
// on the volume, where the gateway user who writes profile.toml can read
// it. Root (boot) reads a profile's module: it must never read, for the
// gateway user, a file that user could not read.
func (c Config) profileModule(base Config, path string) (Problem, bool) {
	m := c.Policy.Module
	if c.Sources["policy.module"] != path || m == "" || m == base.Policy.Module {
		return Problem{}, true
	}
	home := filepath.Clean(c.Home)
	if !filepath.IsAbs(m) || !strings.HasPrefix(filepath.Clean(m), home+"/") {
		return keyProblem(path, "policy.module", fmt.Sprintf("%s is not on the volume (%s): a profile may name only a module there, the embedded default (\"\") or hermes.toml's; set others in hermes.toml", quote(m), escape(home))), false
	}
	return Problem{}, true
}

func first(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

// Validate checks every value's range and names the first one at fault,
// with its source, as a Problem.
func (c *Config) Validate() error { return first(c.problems()) }

// problems are Validate's findings, all of them, in key order.
func (c *Config) problems() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, c.problem(key, fmt.Sprintf(format, args...)))
	}
	if c.Home == "" {
		bad("home", "must not be empty")
	}
	if c.Scandir == "" {
		bad("scandir", "must not be empty")
	}
	if len(c.Gateway.Command) == 0 || c.Gateway.Command[0] == "" {
		bad("gateway.command", "must name a program")
	}
	for _, a := range c.Gateway.Command {
		if strings.ContainsRune(a, 0) {
			bad("gateway.command", "must not contain a NUL byte")
			break
		}
	}
	if c.Gateway.StopGrace <= 0 {
		bad("gateway.stop_grace", "must be positive, found %s", c.Gateway.StopGrace)
	}
	if c.Gateway.ReadyAfter < 0 {
		bad("gateway.ready_after", "must not be negative, found %s", c.Gateway.ReadyAfter)
	}
	if c.Policy.Timeout <= 0 || c.Policy.Timeout.D() > time.Minute {
		bad("policy.timeout", "must be more than 0 and at most 1m, found %s", c.Policy.Timeout)
	}
	if c.Policy.MemoryLimit < 64<<10 || c.Policy.MemoryLimit > 4<<30 {
		bad("policy.memory_limit", "must be between 64KiB and 4GiB, found %s", c.Policy.MemoryLimit)
	}
	if c.Policy.OnError != OnErrorFallback && c.Policy.OnError != OnErrorFail {
		bad("policy.on_error", "want %q or %q, found %s", OnErrorFallback, OnErrorFail, quote(c.Policy.OnError))
	}
	if s := c.Policy.SHA256; s != "" && (len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "") {
		bad("policy.sha256", "want 64 hex digits, found %s", quote(s))
	}
	if d := c.Policy.CacheDir; d != "" {
		switch home := filepath.Clean(c.Home); {
		case !filepath.IsAbs(d):
			bad("policy.cache_dir", "must be an absolute path, found %s", quote(d))
		case c.Home != "" && (filepath.Clean(d) == home || strings.HasPrefix(filepath.Clean(d), home+"/")):
			bad("policy.cache_dir", "%s is on the volume (%s), which the gateway user can write: root loads machine code from it; use a directory of root's, such as %s", quote(d), escape(home), DefaultCacheDir)
		}
	}
	return ps
}
