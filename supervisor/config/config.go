// Package config loads hermes.toml and a profile's profile.toml into the
// effective configuration, remembering where each value came from.
//
// Precedence, highest first: command-line flags, environment variables
// (HERMES_HOME, S6_PROFILE_GATEWAY_SCANDIR), the configuration file, the
// built-in defaults (which are the ones documented in hermes.toml). A
// profile.toml may override the [gateway] and [policy] tables for its
// profile. Unknown keys are refused, naming the file and the key, so that a
// typo never silently falls back to a default.
//
// This package reads files only; it must not import other supervisor packages.
package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the effective configuration.
type Config struct {
	Home     string `toml:"home"`
	Scandir  string `toml:"scandir"`
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
	Command     []string `toml:"command"`
	ProfileArgs []string `toml:"profile_args"`
	User        string   `toml:"user"`
	StopGrace   Duration `toml:"stop_grace"`
	ReadyAfter  Duration `toml:"ready_after"`
}

// Policy is the [policy] table.
type Policy struct {
	Module      string         `toml:"module"`
	SHA256      string         `toml:"sha256"`
	Timeout     Duration       `toml:"timeout"`
	MemoryLimit ByteSize       `toml:"memory_limit"`
	OnError     string         `toml:"on_error"`
	CacheDir    string         `toml:"cache_dir"`
	Params      map[string]any `toml:"params"`
}

// On-error modes.
const (
	OnErrorFallback = "fallback"
	OnErrorFail     = "fail"
)

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
			OnError:     OnErrorFallback,
			Params:      map[string]any{"multiplex_profiles": false},
		},
		Sources: map[string]string{},
	}
	for _, k := range keys {
		c.Sources[k] = "default"
	}
	return c
}

// keys are every setting, dotted, in documentation order.
var keys = []string{
	"home", "scandir", "s6_bin_dir", "registrar",
	"gateway.command", "gateway.profile_args", "gateway.user", "gateway.stop_grace", "gateway.ready_after",
	"policy.module", "policy.sha256", "policy.timeout", "policy.memory_limit", "policy.on_error", "policy.cache_dir", "policy.params",
}

// Keys returns every setting's dotted name in documentation order.
func Keys() []string { return append([]string(nil), keys...) }

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
func Load(path string, o Overrides) (Config, error) {
	c := Default()
	explicit := path != ""
	if !explicit {
		if v := os.Getenv("HERMES_CONFIG"); v != "" {
			path, explicit = v, true
		} else {
			for _, cand := range Candidates() {
				if _, err := os.Stat(cand); err == nil {
					path = cand
					break
				}
			}
		}
	}
	if path != "" {
		if err := c.mergeFile(path, true); err != nil {
			return c, err
		}
		c.File = path
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
	return c, c.Validate()
}

// ForProfile returns c with the [gateway] and [policy] tables of the
// profile's profile.toml (at path) merged in. A missing file is no error.
func (c Config) ForProfile(path string) (Config, error) {
	out := c.clone()
	if err := out.mergeFile(path, false); errors.Is(err, os.ErrNotExist) {
		return c.clone(), nil
	} else if err != nil {
		return c, err
	}
	return out, out.Validate()
}

func (c Config) clone() Config {
	out := c
	out.Gateway.Command = append([]string(nil), c.Gateway.Command...)
	out.Gateway.ProfileArgs = append([]string(nil), c.Gateway.ProfileArgs...)
	out.Policy.Params = make(map[string]any, len(c.Policy.Params))
	for k, v := range c.Policy.Params {
		out.Policy.Params[k] = v
	}
	out.Sources = make(map[string]string, len(c.Sources))
	for k, v := range c.Sources {
		out.Sources[k] = v
	}
	return out
}

// fileShape is what a file may contain; pointers tell "absent" from "zero".
type fileShape struct {
	Home      *string `toml:"home"`
	Scandir   *string `toml:"scandir"`
	S6BinDir  *string `toml:"s6_bin_dir"`
	Registrar *bool   `toml:"registrar"`
	Gateway   *struct {
		Command     *[]string `toml:"command"`
		ProfileArgs *[]string `toml:"profile_args"`
		User        *string   `toml:"user"`
		StopGrace   *Duration `toml:"stop_grace"`
		ReadyAfter  *Duration `toml:"ready_after"`
	} `toml:"gateway"`
	Policy *struct {
		Module      *string         `toml:"module"`
		SHA256      *string         `toml:"sha256"`
		Timeout     *Duration       `toml:"timeout"`
		MemoryLimit *ByteSize       `toml:"memory_limit"`
		OnError     *string         `toml:"on_error"`
		CacheDir    *string         `toml:"cache_dir"`
		Params      *map[string]any `toml:"params"`
	} `toml:"policy"`
	// hermes profile.toml files may carry other tables of hermes' own.
	Other map[string]any `toml:"-"`
}

const maxConfigSize = 1 << 20

// readFile reads the configuration file at path (a symlink is followed: a
// mounted ConfigMap is one) with one open, fstat and read: boot reads a
// profile.toml per profile. A FIFO is refused rather than waited on. A
// missing file is an error wrapping os.ErrNotExist.
func readFile(path string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("config: %w", &os.PathError{Op: "stat", Path: path, Err: err})
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fmt.Errorf("config: %s is not a regular file", path)
	}
	if st.Size > maxConfigSize {
		return nil, fmt.Errorf("config: %s is %d bytes, more than %d", path, st.Size, maxConfigSize)
	}
	data := make([]byte, 0, st.Size+1)
	for len(data) <= maxConfigSize {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR || err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("config: %w", &os.PathError{Op: "read", Path: path, Err: err})
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // grow: the file grew since fstat
		}
	}
	return nil, fmt.Errorf("config: %s is more than %d bytes", path, maxConfigSize)
}

func (c *Config) mergeFile(path string, top bool) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	var f fileShape
	md, err := toml.Decode(strings.TrimPrefix(string(data), "\ufeff"), &f)
	if err != nil {
		return fmt.Errorf("config: %s: %s", path, oneLine(err))
	}
	for _, k := range md.Undecoded() {
		ks := k.String()
		if strings.HasPrefix(ks, "policy.params.") {
			continue
		}
		if !top && !strings.HasPrefix(ks, "gateway") && !strings.HasPrefix(ks, "policy") {
			continue // profile.toml also holds hermes' own settings
		}
		return fmt.Errorf("config: %s: unknown setting %q", path, ks)
	}
	if !top && (f.Home != nil || f.Scandir != nil || f.S6BinDir != nil || f.Registrar != nil) {
		return fmt.Errorf("config: %s: only [gateway] and [policy] may be set per profile", path)
	}
	if !top && f.Gateway != nil && f.Gateway.User != nil {
		// profile.toml is writable by the gateway user: letting it name the
		// user its gateway runs as would let it run that gateway as root.
		return fmt.Errorf("config: %s: gateway.user may only be set in hermes.toml (a profile must not choose the user it runs as)", path)
	}
	set := func(key string) { c.Sources[key] = path }
	if f.Home != nil {
		c.Home = *f.Home
		set("home")
	}
	if f.Scandir != nil {
		c.Scandir = *f.Scandir
		set("scandir")
	}
	if f.S6BinDir != nil {
		c.S6BinDir = *f.S6BinDir
		set("s6_bin_dir")
	}
	if f.Registrar != nil {
		c.Registrar = *f.Registrar
		set("registrar")
	}
	if g := f.Gateway; g != nil {
		if g.Command != nil {
			c.Gateway.Command = *g.Command
			set("gateway.command")
		}
		if g.ProfileArgs != nil {
			c.Gateway.ProfileArgs = *g.ProfileArgs
			set("gateway.profile_args")
		}
		if g.User != nil {
			c.Gateway.User = *g.User
			set("gateway.user")
		}
		if g.StopGrace != nil {
			c.Gateway.StopGrace = *g.StopGrace
			set("gateway.stop_grace")
		}
		if g.ReadyAfter != nil {
			c.Gateway.ReadyAfter = *g.ReadyAfter
			set("gateway.ready_after")
		}
	}
	if p := f.Policy; p != nil {
		if p.Module != nil {
			c.Policy.Module = *p.Module
			set("policy.module")
		}
		if p.SHA256 != nil {
			c.Policy.SHA256 = strings.ToLower(*p.SHA256)
			set("policy.sha256")
		}
		if p.Timeout != nil {
			c.Policy.Timeout = *p.Timeout
			set("policy.timeout")
		}
		if p.MemoryLimit != nil {
			c.Policy.MemoryLimit = *p.MemoryLimit
			set("policy.memory_limit")
		}
		if p.OnError != nil {
			c.Policy.OnError = *p.OnError
			set("policy.on_error")
		}
		if p.CacheDir != nil {
			c.Policy.CacheDir = *p.CacheDir
			set("policy.cache_dir")
		}
		if p.Params != nil {
			c.Policy.Params = *p.Params
			set("policy.params")
		}
	}
	return nil
}

// Validate checks every value and names the one at fault.
func (c *Config) Validate() error {
	src := func(k string) string {
		if s := c.Sources[k]; s != "" && s != "default" {
			return " (from " + s + ")"
		}
		return ""
	}
	switch {
	case c.Home == "":
		return fmt.Errorf("config: home is empty%s", src("home"))
	case c.Scandir == "":
		return fmt.Errorf("config: scandir is empty%s", src("scandir"))
	case len(c.Gateway.Command) == 0 || c.Gateway.Command[0] == "":
		return fmt.Errorf("config: gateway.command is empty%s", src("gateway.command"))
	case c.Gateway.StopGrace <= 0:
		return fmt.Errorf("config: gateway.stop_grace %s must be positive%s", c.Gateway.StopGrace, src("gateway.stop_grace"))
	case c.Gateway.ReadyAfter < 0:
		return fmt.Errorf("config: gateway.ready_after %s must not be negative%s", c.Gateway.ReadyAfter, src("gateway.ready_after"))
	case c.Policy.Timeout <= 0 || time.Duration(c.Policy.Timeout) > time.Minute:
		return fmt.Errorf("config: policy.timeout %s must be in (0, 1m]%s", c.Policy.Timeout, src("policy.timeout"))
	case c.Policy.MemoryLimit < 64<<10 || c.Policy.MemoryLimit > 4<<30:
		return fmt.Errorf("config: policy.memory_limit %s must be between 64KiB and 4GiB%s", c.Policy.MemoryLimit, src("policy.memory_limit"))
	case c.Policy.OnError != OnErrorFallback && c.Policy.OnError != OnErrorFail:
		return fmt.Errorf("config: policy.on_error %q must be %q or %q%s", c.Policy.OnError, OnErrorFallback, OnErrorFail, src("policy.on_error"))
	}
	if s := c.Policy.SHA256; s != "" {
		if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
			return fmt.Errorf("config: policy.sha256 %q is not 64 hex digits%s", s, src("policy.sha256"))
		}
	}
	for _, a := range c.Gateway.Command {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("config: gateway.command has a NUL byte%s", src("gateway.command"))
		}
	}
	return nil
}

// Duration is a time.Duration written as "10s" in TOML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, like 10s or 100ms", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ByteSize is a size written as "16MiB" in TOML (B, KiB, MiB, GiB; or a plain integer).
type ByteSize uint64

var units = []struct {
	suffix string
	mult   uint64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ByteSize) UnmarshalText(b []byte) error {
	str := strings.TrimSpace(string(b))
	mult := uint64(1)
	for _, u := range units {
		if strings.HasSuffix(str, u.suffix) {
			str, mult = strings.TrimSpace(strings.TrimSuffix(str, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(str, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return fmt.Errorf("size %q: want a whole number with B, KiB, MiB or GiB, like 16MiB", string(b))
	}
	*s = ByteSize(n * mult)
	return nil
}

// UnmarshalTOML accepts a plain integer (bytes) as well as a string.
func (s *ByteSize) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("size %d must not be negative", x)
		}
		*s = ByteSize(x)
		return nil
	case string:
		return s.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("size: want a string like \"16MiB\" or an integer, got %T", v)
}

// MarshalText implements encoding.TextMarshaler.
func (s ByteSize) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s ByteSize) String() string {
	for _, u := range units {
		if uint64(s) >= u.mult && uint64(s)%u.mult == 0 {
			return strconv.FormatUint(uint64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatUint(uint64(s), 10) + "B"
}

// Value returns the effective value of a dotted key, for "config show".
func (c *Config) Value(key string) any {
	switch key {
	case "home":
		return c.Home
	case "scandir":
		return c.Scandir
	case "s6_bin_dir":
		return c.S6BinDir
	case "registrar":
		return c.Registrar
	case "gateway.command":
		return c.Gateway.Command
	case "gateway.profile_args":
		return c.Gateway.ProfileArgs
	case "gateway.user":
		return c.Gateway.User
	case "gateway.stop_grace":
		return c.Gateway.StopGrace.String()
	case "gateway.ready_after":
		return c.Gateway.ReadyAfter.String()
	case "policy.module":
		return c.Policy.Module
	case "policy.sha256":
		return c.Policy.SHA256
	case "policy.timeout":
		return c.Policy.Timeout.String()
	case "policy.memory_limit":
		return c.Policy.MemoryLimit.String()
	case "policy.on_error":
		return c.Policy.OnError
	case "policy.cache_dir":
		return c.Policy.CacheDir
	case "policy.params":
		ks := make([]string, 0, len(c.Policy.Params))
		for k := range c.Policy.Params {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return c.Policy.Params
	}
	return nil
}

// oneLine flattens a TOML parse error (which may span lines) to one line.
// The parser's message may quote the offending input, newline included;
// escape control characters so the error stays one line.
func oneLine(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", pe.Position.Line, escapeControls(pe.Message))
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

func escapeControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s))
}
