// Package engine is where the supervisor opens its policy engines: it
// turns a configuration's [policy] table into policy options, opens an
// engine eagerly (boot, run) or on first use (finish, which usually needs
// none), keeps one engine per distinct policy setting for a boot, and asks
// for a decision with the native fallback behind it, so that a broken
// policy never loses a state write.
//
// It may import hostabi, policy and supervisor/config; never boot, runner,
// ops, s6 or cmd.
package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Decider makes decisions; *policy.Engine, *Lazy and what a Pool hands
// out are Deciders.
type Decider interface {
	Decide(ctx context.Context, in *hostabi.Input) (policy.Result, error)
}

// CacheDir is where this process caches compiled policy modules: a
// directory per uid under policy.cache_dir, because boot runs as root and
// the gateways' supervisors as the gateway user, and neither may write (or
// poison) the other's compiled code. "" when there is no cache.
func CacheDir(c config.Config) string {
	return uidDir(c, os.Geteuid())
}

func uidDir(c config.Config, uid int) string {
	if c.Policy.CacheDir == "" {
		return ""
	}
	return filepath.Join(c.Policy.CacheDir, "uid-"+strconv.Itoa(uid))
}

// usableCache returns the cache directory this process may use, creating
// it when missing, or "" (and why) when it must compile without one.
//
// Root loads machine code from its cache: it uses one only when that
// directory and every directory above it belong to root and nobody else
// may write to them (a world-writable directory with the sticky bit, such
// as /tmp, is allowed above it: nobody else can rename or remove what root
// made there). Anything else is a planted cache, and root compiles afresh.
// Another user's cache is its own business: it is used when it is that
// user's.
func usableCache(c config.Config) (string, error) {
	dir := CacheDir(c)
	if dir == "" {
		return "", nil
	}
	if r, ok := checked.Load(dir); ok { // a boot asks once per profile
		r := r.(cacheCheck)
		return r.dir, r.err
	}
	d, err := checkCache(c, dir)
	checked.Store(dir, cacheCheck{d, err})
	return d, err
}

// checked remembers usableCache's answers for this process.
var checked sync.Map

type cacheCheck struct {
	dir string
	err error
}

func checkCache(c config.Config, dir string) (string, error) {
	uid := os.Geteuid()
	if uid == 0 {
		if err := os.MkdirAll(c.Policy.CacheDir, 0o755); err != nil {
			return "", err
		}
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
		if err := rootOnly(dir); err != nil {
			return "", err
		}
		return dir, nil
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", err
		}
		return dir, nil
	}
	if err != nil {
		return "", err
	}
	if st := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || int(st.Uid) != uid {
		return "", fmt.Errorf("%s is not a directory of uid %d", dir, uid)
	}
	return dir, nil
}

// rootOnly checks that dir and every directory above it belong to root
// and that nobody else may write to them (sticky world-writable
// directories excepted).
func rootOnly(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for d := real; ; d = filepath.Dir(d) {
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", d)
		case st.Uid != 0:
			return fmt.Errorf("%s belongs to uid %d, not root", d, st.Uid)
		case fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0:
			return fmt.Errorf("%s is writable by others (mode %s)", d, fi.Mode().Perm())
		}
		if d == "/" {
			return nil
		}
	}
}

// PrepareCacheDir creates the cache directory of uid (owned by uid:gid, mode
// 0700) under policy.cache_dir, root's, so that a process running as that
// user can cache compiled modules. Boot calls it, as root, for the gateway
// user. It refuses a cache directory that is not root's (see usableCache).
func PrepareCacheDir(c config.Config, uid, gid int) error {
	dir := uidDir(c, uid)
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.Policy.CacheDir, 0o755); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	if err := rootOnly(c.Policy.CacheDir); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("policy cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("policy cache: %s is not a directory", dir)
	}
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	return nil
}

// Options turns the [policy] table of c into options for policy.Open.
func Options(c config.Config, logger *slog.Logger) (policy.Options, error) {
	params, err := hostabi.ParamsFromMap(c.Policy.Params)
	if err != nil {
		return policy.Options{}, fmt.Errorf("config: policy.params: %w", err)
	}
	cache, err := usableCache(c)
	if err != nil {
		if logger != nil {
			logger.Warn("policy: not using the compilation cache; compiling afresh", "cache", CacheDir(c), "why", err.Error())
		}
		cache = ""
	}
	return policy.Options{
		Module:      c.Policy.Module,
		SHA256:      c.Policy.SHA256,
		Timeout:     c.Policy.Timeout.D(),
		MemoryLimit: uint64(c.Policy.MemoryLimit),
		OnError:     policy.OnError(c.Policy.OnError),
		CacheDir:    cache,
		Params:      params,
		Logger:      logger,
		Read:        readModule,
	}, nil
}

// readModule reads a module file. One on the volume (a profile's own,
// which its profile.toml may name) is read like every file of the volume
// (package volume: no symlink, one link, beneath the volume); any other
// (hermes.toml's, perhaps a mounted ConfigMap) as policy.ReadModule does.
func readModule(path string) ([]byte, error) {
	if volume.Confined(path) {
		return volume.ReadFile(path, policy.MaxModuleSize)
	}
	return policy.ReadModule(path)
}

// Open opens the policy engine of configuration c now.
func Open(ctx context.Context, c config.Config, logger *slog.Logger) (*policy.Engine, error) {
	o, err := Options(c, logger)
	if err != nil {
		return nil, err
	}
	return policy.Open(ctx, o)
}

// Lazy is a policy engine opened when the first decision is asked for:
// "supervisor finish" usually follows the verdict "supervisor run" left,
// and s6 gives it 5 seconds, so it compiles a module only when it must.
type Lazy struct {
	opts policy.Options
	eng  *policy.Engine
}

// NewLazy checks the [policy] table of c now and opens its engine at the
// first Decide.
func NewLazy(c config.Config, logger *slog.Logger) (*Lazy, error) {
	o, err := Options(c, logger)
	if err != nil {
		return nil, err
	}
	return &Lazy{opts: o}, nil
}

// Decide opens the engine if needed, then decides.
func (l *Lazy) Decide(ctx context.Context, in *hostabi.Input) (policy.Result, error) {
	if l.eng == nil {
		eng, err := policy.Open(ctx, l.opts)
		if err != nil {
			return policy.Result{}, err
		}
		l.eng = eng
	}
	return l.eng.Decide(ctx, in)
}

// Close releases the engine, if it was opened.
func (l *Lazy) Close(ctx context.Context) error {
	if l.eng == nil {
		return nil
	}
	return l.eng.Close(ctx)
}

// Decide asks d for a decision on in. When the engine fails (it cannot be
// opened, or on_error = "fail" and the module failed), the native fallback
// decides anyway, and the failure is logged and recorded in the result: a
// broken policy never loses the state write.
func Decide(ctx context.Context, d Decider, in hostabi.Input, logger *slog.Logger) policy.Result {
	r, err := d.Decide(ctx, &in)
	if err == nil {
		return r
	}
	if logger != nil {
		logger.Error("policy failed; deciding with the native fallback", "err", err)
	}
	return policy.FallbackResult(&in, err)
}

// Pool holds the engines of one boot: one per distinct policy setting,
// keyed by the module's sha256 and the limits and parameters it runs
// with, so that profiles sharing a module share its engine. Safe for
// concurrent use; Close it when the boot is done.
type Pool struct {
	logger *slog.Logger
	readAs func(path string) ([]byte, error) // set by ReadModulesAs
	mu     sync.Mutex
	m      map[string]*poolEntry
}

// ReadModulesAs makes the pool read every module on the volume as the
// user uid:gid (the gateway user), in a child process: exe, the
// supervisor binary, run as "exe policy read-module PATH" with that
// user's credentials and nothing else of this process. Boot runs as root
// and opens the module a profile.toml names: it must never read, for the
// gateway user, a file that user could not read.
func (p *Pool) ReadModulesAs(exe string, uid, gid int) {
	p.readAs = func(path string) ([]byte, error) { return ReadModuleAs(exe, path, uid, gid) }
}

type poolEntry struct {
	once sync.Once
	eng  *policy.Engine
	err  error
}

// NewPool returns an empty pool whose engines log to logger.
func NewPool(logger *slog.Logger) *Pool {
	return &Pool{logger: logger, m: map[string]*poolEntry{}}
}

// For returns the engine of configuration c (a profile's effective
// configuration), opening it the first time its setting is asked for.
func (p *Pool) For(ctx context.Context, c config.Config) (Decider, error) {
	o, err := Options(c, p.logger)
	if err != nil {
		return nil, err
	}
	if p.readAs != nil && o.Module != "" && volume.Confined(o.Module) {
		o.Read = p.readAs
	}
	key, err := poolKey(&o)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	e, ok := p.m[key]
	if !ok {
		e = &poolEntry{}
		p.m[key] = e
	}
	p.mu.Unlock()
	e.once.Do(func() { e.eng, e.err = policy.Open(ctx, o) })
	if e.err != nil {
		return nil, e.err
	}
	return e.eng, nil
}

// Close releases every engine of the pool.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, e := range p.m {
		if e.eng != nil {
			errs = append(errs, e.eng.Close(ctx))
		}
	}
	p.m = map[string]*poolEntry{}
	return errors.Join(errs...)
}

// poolKey reads the module o names (once: the bytes go into o.Wasm, so the
// engine does not read it again) and returns the key of its setting: the
// module's digest, the pin, the limits and the parameters. A module that
// cannot be read is keyed by its path: opening it reports why.
func poolKey(o *policy.Options) (string, error) {
	digest := "embedded"
	if o.Module != "" {
		read := o.Read
		if read == nil {
			read = readModule
		}
		b, err := read(o.Module)
		if err != nil {
			digest = "unreadable:" + o.Module // policy.Open reads it again, and reports why
			o.Read = func(string) ([]byte, error) { return nil, err }
		} else {
			o.Wasm = b
			sum := sha256.Sum256(b)
			digest = hex.EncodeToString(sum[:])
		}
	}
	params, err := json.Marshal(o.Params) // hostabi.Params is sorted: a stable key
	if err != nil {
		return "", fmt.Errorf("config: policy.params: %w", err)
	}
	return fmt.Sprintf("%s|%s|%s|%d|%s|%s|%s", digest, o.Module, o.SHA256, o.MemoryLimit, o.Timeout, o.OnError, params), nil
}

// ReadModuleTimeout bounds ReadModuleAs.
const ReadModuleTimeout = 10 * time.Second

// ReadModuleAs reads the module file path as the user uid:gid: it runs
// exe (the supervisor binary) as "exe policy read-module PATH" with that
// user's credentials, no supplementary groups and an empty environment,
// and takes the module from its standard output (at most
// policy.MaxModuleSize bytes, within ReadModuleTimeout). What the user may
// not read, the child cannot read either, and its error is all root
// reports.
func ReadModuleAs(exe, path string, uid, gid int) ([]byte, error) {
	if uid < 0 || gid < 0 {
		return nil, fmt.Errorf("%s is on the volume and is read as the gateway user, who does not exist", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ReadModuleTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "policy", "read-module", "--", path)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	var stderr limitedBuffer
	stderr.max = 4 << 10
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("read %s as uid %d: %w", path, uid, err)
	}
	b, rerr := io.ReadAll(io.LimitReader(out, policy.MaxModuleSize+1))
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("read %s as uid %d: no answer within %s", path, uid, ReadModuleTimeout)
	case werr != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = werr.Error()
		}
		return nil, fmt.Errorf("read %s as uid %d: %s", path, uid, strings.TrimPrefix(msg, "supervisor: "))
	case rerr != nil:
		return nil, rerr
	case len(b) > policy.MaxModuleSize:
		return nil, fmt.Errorf("%s is more than %d bytes", path, policy.MaxModuleSize)
	}
	return b, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
