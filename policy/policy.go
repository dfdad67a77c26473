// Package policy is the host side of policy modules: it loads the embedded
// default module or an operator's file, runs decisions in a wazero sandbox
// with a time and memory limit, and falls back to the native decisions of
// package fallback whenever a module cannot be trusted to answer.
//
// It must not import the supervisor, s6 or cmd packages, nor policy/build:
// it knows modules, inputs and decisions, never processes or files on the
// volume. Whoever needs a policy directory built injects a builder.
package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policies"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/fuel"
)

// Defaults of Options.
const (
	DefaultTimeout     = 100 * time.Millisecond
	DefaultMemoryLimit = 16 << 20
	// EmbeddedSource is how the embedded default module is named in logs and
	// fixture files.
	EmbeddedSource = "embedded:default"
)

// Default is the embedded default module (package policies); an Engine
// opened with no Module and no Wasm uses it. Tests may swap it.
var Default = policies.Default

// Errors returned (wrapped) by Open and Decide. Check them with errors.Is.
var (
	// ErrDigest: the module file's sha256 differs from Options.SHA256. The
	// module is refused before it is compiled.
	ErrDigest = errors.New("module sha256 does not match the pin")
	// ErrABI: the module speaks an ABI major version this host does not.
	ErrABI = errors.New("unsupported ABI version")
	// ErrImport: the module imports something other than WASI preview 1.
	ErrImport = errors.New("forbidden import")
	// ErrExport: an export the ABI requires is missing or has the wrong type.
	ErrExport = errors.New("missing or mistyped export")
	// ErrModule: the module could not be loaded, or failed to answer a
	// decision (trap, timeout, memory exhaustion, malformed answer).
	ErrModule = errors.New("policy module failed")
	// ErrNoModule: no module given and no embedded default linked in.
	ErrNoModule = errors.New("no policy module")
)

// OnError says what a module's failure leads to.
type OnError string

const (
	// OnErrorFallback: the native fallback decides in the module's place,
	// and the failure is logged. The default.
	OnErrorFallback OnError = "fallback"
	// OnErrorFail: the failure is an error (wrapping ErrModule) from Open
	// or Decide; the caller decides what to do, e.g. FallbackResult.
	OnErrorFail OnError = "fail"
)

// Options configure an Engine. The zero value of each field means its default.
type Options struct {
	Module string // path of a .wasm file; "" = the embedded default module
	Wasm   []byte // the module's bytes, when the caller already holds them (Module then only names it)
	// Read reads the module file named by Module; nil = ReadModule. A
	// caller that must not follow what a less trusted user could plant
	// (a module on the gateway user's volume, read by root) brings its own.
	Read        func(path string) ([]byte, error)
	SHA256      string        // optional pin of the module (64 hex digits), checked before compiling
	Timeout     time.Duration // per decision; default 100ms
	MemoryLimit uint64        // bytes of linear memory; default 16 MiB, rounded down to 64 KiB pages
	OnError     OnError       // OnErrorFallback (default) or OnErrorFail
	CacheDir    string        // on-disk compilation cache; "" = none
	Params      hostabi.Params
	Logger      *slog.Logger // where failures and fallback reasons are logged; nil = slog.Default()
}

// Result is a decision and how it was made.
type Result struct {
	Decision       hostabi.Decision
	Policy         string // the module that was asked: name@first 8 hex digits of its sha256
	Fallback       bool   // the native fallback decided
	FallbackReason string // why, when Fallback
	// Failed: the fallback decided because the module failed (it could
	// not be loaded, trapped, ran out of time or answered nonsense), not
	// because it declined or does not make decisions of this kind.
	Failed bool
	// Digest is the sha256 (hex) of the module whose answer this is (see
	// DecidedBy): set when the module answered, declined or does not make
	// this kind of decision; empty when it failed, or when no engine
	// answered (FallbackResult).
	Digest string
}

// FallbackIdentity names the native fallback where a policy is named.
const FallbackIdentity = fallback.Name + "@native"

// DecidedBy names the policy whose answer this is, for the state file, the
// boot log and the logs: the module asked, unless it failed and the native
// fallback answered in its place. A module that declines a decision, or
// does not make that kind, hands it to the fallback by design: the answer
// is still counted as the module's.
func (r Result) DecidedBy() string {
	if r.Failed {
		return FallbackIdentity
	}
	return r.Policy
}

// FallbackResult is the native fallback's answer to in when no module could
// answer: the engine could not be opened, or Decide returned an error (with
// OnErrorFail). The Result is marked Failed and names FallbackIdentity as
// its policy; reason (nil reads "no policy engine") says why. in.Params are
// used as they are: set them to the policy's parameters first.
//
// Engine uses the same answer when a module fails under OnErrorFallback,
// naming the module it asked.
func FallbackResult(in *hostabi.Input, reason error) Result {
	text := "no policy engine"
	if reason != nil {
		text = reason.Error()
	}
	return nativeResult(in, FallbackIdentity, text, true)
}

// nativeResult is the native fallback's answer to in, for the module named
// policy (which failed when failed is set).
func nativeResult(in *hostabi.Input, policy, reason string, failed bool) Result {
	return Result{Decision: fallback.Decide(in), Policy: policy, Fallback: true, FallbackReason: reason, Failed: failed}
}

// Engine makes decisions with one module. It holds one instance of the
// module and reuses it across decisions; an instance that failed is thrown
// away and the next decision gets a fresh one. Decide may be called from
// several goroutines; calls are serialised.
type Engine struct {
	opts   Options
	log    *slog.Logger
	source string // file path or EmbeddedSource
	digest string // sha256 of the module, hex
	size   int

	rt       wazero.Runtime
	cache    wazero.CompilationCache
	compiled wazero.CompiledModule
	hasInit  bool
	// bounded: the module is the embedded default, metered (package fuel):
	// it runs in a runtime without termination checks and without the
	// watchdog, each call bounded by budget (fuelBudget) instead.
	bounded  bool
	budget   int32
	meta     hostabi.Metadata
	abi      uint32
	identity string
	loadErr  error // the module could not be loaded: every decision falls back

	mu      sync.Mutex
	inst    *instance
	buf     []byte
	watch   *watchdog
	reasons map[string]string
}

type instance struct {
	mod           api.Module
	mem           api.Memory
	alloc, decide api.Function
	fuel          api.MutableGlobal // the counter of a bounded module; nil otherwise
	budget        int32             // what refuel sets it to
	stack         [3]uint64
	// The input buffer hermes_alloc handed out: the module keeps it for the
	// instance's life, so it is asked once, and again only for a larger input.
	inPtr, inCap uint32
}

// minInputBuffer is the least capacity the host asks hermes_alloc for: every
// ordinary input fits, so a module is asked for its buffer once.
const minInputBuffer = 4 << 10

// Open loads, checks and compiles the module, instantiates it once and reads
// its ABI version and metadata.
//
// Invalid options (a malformed pin, an unknown on_error) are always an
// error. A module that cannot be loaded (unreadable, pin mismatch, invalid
// wasm, forbidden import, missing export, foreign ABI major, bad metadata)
// is an error wrapping ErrModule with OnErrorFail; otherwise Open logs
// why and returns an engine that decides everything with the fallback
// (LoadError tells). A broken compilation cache is never an error: it is
// cleared, and the module compiled without it.
func Open(ctx context.Context, o Options) (*Engine, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.MemoryLimit < 1<<16 {
		return nil, fmt.Errorf("policy: memory limit %d bytes is less than one 64 KiB page", o.MemoryLimit)
	}
	switch o.OnError {
	case "":
		o.OnError = OnErrorFallback
	case OnErrorFallback, OnErrorFail:
	default:
		return nil, fmt.Errorf("policy: on_error %q: want %q or %q", o.OnError, OnErrorFallback, OnErrorFail)
	}
	o.SHA256 = strings.ToLower(strings.TrimSpace(o.SHA256))
	if o.SHA256 != "" {
		if b, err := hex.DecodeString(o.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("policy: sha256 pin %q is not 64 hex digits", o.SHA256)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Engine{opts: o, log: o.Logger, source: o.Module, watch: newWatchdog(o.Timeout)}
	if e.source == "" {
		e.source = EmbeddedSource
	}
	err := e.load(ctx)
	if e.size >= releaseAfterOpen {
		// Reading, validating and compiling (or loading from the cache) a
		// large module leaves megabytes of garbage the process would hold
		// for its whole life: a long-lived supervisor gives it back now.
		debug.FreeOSMemory()
	}
	if err != nil {
		e.loadErr = fmt.Errorf("%w: %s: %w", ErrModule, e.source, err)
		if e.identity == "" {
			e.identity = sourceName(e.source) + "@" + short(e.digest)
		}
		if o.OnError == OnErrorFail {
			e.Close(ctx)
			return nil, fmt.Errorf("policy: %w", e.loadErr)
		}
		e.log.Error("policy: module refused; every decision will use the native fallback",
			"module", e.identity, "source", e.source, "error", err.Error())
	}
	return e, nil
}

// MaxModuleSize is the largest module file read: a Go-built module is a
// few megabytes.
const MaxModuleSize = 64 << 20

// ReadModule reads a module file: a regular file (a symlink to one is
// followed: a mounted ConfigMap is one) of at most MaxModuleSize bytes,
// opened without blocking, so that a FIFO or a device named as a module
// is refused at once instead of waited on or read forever.
func ReadModule(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > MaxModuleSize {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", path, fi.Size(), MaxModuleSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxModuleSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxModuleSize {
		return nil, fmt.Errorf("%s is more than %d bytes", path, MaxModuleSize)
	}
	return b, nil
}

// releaseAfterOpen is the module size from which Open returns the garbage
// of loading to the operating system (a Go-built module is 2-3 MB; the
// embedded default, 6 KB, leaves too little to pay for a collection).
const releaseAfterOpen = 1 << 20

func sourceName(src string) string {
	if src == EmbeddedSource {
		return "default"
	}
	i := strings.LastIndexByte(src, '/')
	return strings.TrimSuffix(src[i+1:], ".wasm")
}

func short(digest string) string {
	if len(digest) < 8 {
		return "unknown"
	}
	return digest[:8]
}

// load reads, checks, compiles and instantiates the module.
func (e *Engine) load(ctx context.Context) error {
	wasm := e.opts.Wasm
	switch {
	case wasm != nil:
	case e.opts.Module != "":
		read := e.opts.Read
		if read == nil {
			read = ReadModule
		}
		b, err := read(e.opts.Module)
		if err != nil {
			return err
		}
		wasm = b
	default:
		if Default == nil {
			return ErrNoModule
		}
		wasm = Default
	}
	sum := sha256.Sum256(wasm)
	e.digest = hex.EncodeToString(sum[:])
	e.size = len(wasm)
	if e.opts.SHA256 != "" && e.opts.SHA256 != e.digest {
		return fmt.Errorf("%w: pinned %s, file has %s", ErrDigest, e.opts.SHA256, e.digest)
	}
	if e.digest == embeddedDigest() {
		// Our own module, held to the native table by the differential
		// test: metered, it cannot spin, and needs no per-call watcher.
		metered, err := fuel.Meter(wasm, fuelBudget)
		if err != nil {
			e.log.Warn("policy: the embedded default module cannot be metered; running it with termination checks", "error", err.Error())
		} else {
			wasm, e.bounded, e.budget = metered, true, fuelBudget
		}
	}
	if err := e.compile(ctx, wasm); err != nil {
		return err
	}
	if err := checkInterface(e.compiled); err != nil {
		return err
	}
	_, e.hasInit = e.compiled.ExportedFunctions()["_initialize"]
	inst, err := e.instantiate(ctx)
	if err != nil {
		return err
	}
	e.inst = inst
	if err := e.readIdentity(ctx); err != nil {
		return err
	}
	return nil
}

// compile compiles wasm through the on-disk cache when one is configured,
// healing it: a cache that cannot be created, read or written never stops
// the module from loading.
func (e *Engine) compile(ctx context.Context, wasm []byte) error {
	if dir := e.opts.CacheDir; dir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			e.log.Warn("policy: compilation cache unusable; compiling without it", "cache", dir, "error", err.Error())
		} else {
			rt := e.newRuntime(ctx, cache)
			compiled, cerr := rt.CompileModule(ctx, wasm)
			if cerr == nil {
				e.rt, e.cache, e.compiled = rt, cache, compiled
				return nil
			}
			rt.Close(ctx)
			cache.Close(ctx)
			// Is the module at fault, or the cache? Compile without it to tell.
			if err := e.compileNoCache(ctx, wasm); err != nil {
				return err
			}
			rerr := os.RemoveAll(dir)
			e.log.Warn("policy: compilation cache failed and was cleared; compiled without it",
				"cache", dir, "error", cerr.Error(), "clear_error", errString(rerr))
			return nil
		}
	}
	return e.compileNoCache(ctx, wasm)
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

func (e *Engine) compileNoCache(ctx context.Context, wasm []byte) error {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return errors.New("not a WebAssembly module (it does not start with \\0asm)")
	}
	rt := e.newRuntime(ctx, nil)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return fmt.Errorf("compile: %w", err)
	}
	e.rt, e.compiled = rt, compiled
	return nil
}

func (e *Engine) newRuntime(ctx context.Context, cache wazero.CompilationCache) wazero.Runtime {
	cfg := wazero.NewRuntimeConfig().
		// Without it a spinning guest ignores its deadline. It costs a
		// goroutine per call and a check at every loop header: a bounded
		// module does without.
		WithCloseOnContextDone(!e.bounded).
		WithMemoryLimitPages(uint32(e.opts.MemoryLimit >> 16))
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	instantiateWASI(ctx, rt)
	return rt
}

// initTimeout bounds instantiation (a Go guest's runtime start-up).
func (e *Engine) initTimeout() time.Duration {
	return max(10*e.opts.Timeout, time.Second)
}

// instantiate makes a fresh instance of the compiled module.
func (e *Engine) instantiate(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, e.initTimeout())
	defer cancel()
	mod, err := e.rt.InstantiateModule(ctx, e.compiled, sandboxConfig())
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", callError(ctx, err, e.initTimeout()))
	}
	inst := &instance{
		mod:    mod,
		mem:    mod.ExportedMemory(hostabi.ExportMemory),
		alloc:  mod.ExportedFunction(hostabi.ExportAlloc),
		decide: mod.ExportedFunction(hostabi.ExportDecide),
	}
	if e.bounded {
		inst.fuel, inst.budget = mod.ExportedGlobal(fuel.Export).(api.MutableGlobal), e.budget
	}
	if e.hasInit {
		inst.refuel()
		if _, err := mod.ExportedFunction("_initialize").Call(ctx); err != nil {
			mod.Close(context.Background())
			return nil, fmt.Errorf("_initialize: %w", inst.callError(ctx, err, e.initTimeout()))
		}
	}
	return inst, nil
}

// fuelBudget bounds one call into a bounded module: loop turns plus
// function calls. The embedded default spends about fifty on an ordinary
// decision and under ten thousand on the largest input the ABI carries
// (TestDefaultModuleFuel); a unit costs it tens of nanoseconds at most, so
// the budget stops a broken build of it within milliseconds.
const fuelBudget = 1 << 18

// refuel gives a bounded instance its budget for the next call.
func (inst *instance) refuel() {
	if inst.fuel != nil {
		inst.fuel.Set(uint64(inst.budget))
	}
}

// callError says what happened when a call into the instance failed: a
// bounded instance that spent its budget, or a deadline that passed.
func (inst *instance) callError(ctx context.Context, err error, limit time.Duration) error {
	if inst.fuel != nil && inst.fuel.Get() == 0 {
		return fmt.Errorf("spent its budget of %d loop turns and calls: %w", inst.budget, err)
	}
	return callError(ctx, err, limit)
}

var embedded struct {
	once   sync.Once
	digest string
}

// embeddedDigest is the sha256 of the embedded default module (package
// policies; not Default, which tests may swap).
func embeddedDigest() string {
	embedded.once.Do(func() {
		if policies.Default != nil {
			sum := sha256.Sum256(policies.Default)
			embedded.digest = hex.EncodeToString(sum[:])
		}
	})
	return embedded.digest
}

// readIdentity asks the fresh instance for its ABI version and metadata.
func (e *Engine) readIdentity(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	mod := e.inst.mod
	e.inst.refuel()
	v, err := mod.ExportedFunction(hostabi.ExportABIVersion).Call(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", hostabi.ExportABIVersion, e.inst.callError(ctx, err, e.opts.Timeout))
	}
	e.abi = uint32(v[0])
	if major, minor := hostabi.SplitVersion(e.abi); major != hostabi.VersionMajor {
		return fmt.Errorf("%w: module speaks ABI %d.%d, this host speaks ABI major %d", ErrABI, major, minor, hostabi.VersionMajor)
	}
	e.inst.refuel()
	r, err := mod.ExportedFunction(hostabi.ExportMetadata).Call(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", hostabi.ExportMetadata, e.inst.callError(ctx, err, e.opts.Timeout))
	}
	ptr, n := uint32(r[0]>>32), uint32(r[0])
	if n > hostabi.MaxMetadataSize {
		return fmt.Errorf("metadata is %d bytes, more than %d", n, hostabi.MaxMetadataSize)
	}
	text, ok := e.inst.mem.Read(ptr, n)
	if !ok {
		return fmt.Errorf("metadata [%d, +%d) is outside the module's memory", ptr, n)
	}
	meta, err := hostabi.ParseMetadata(text)
	if err != nil {
		return err
	}
	e.meta = meta
	e.identity = meta.Name + "@" + short(e.digest)
	return nil
}

// Identity names the module: name@digest8 (the name from its metadata, the
// first 8 hex digits of its sha256).
func (e *Engine) Identity() string { return e.identity }

// Digest is the module's sha256, in hex.
func (e *Engine) Digest() string { return e.digest }

// Metadata is what the module declared about itself.
func (e *Engine) Metadata() hostabi.Metadata { return e.meta }

// Source is the module's file path, or EmbeddedSource.
func (e *Engine) Source() string { return e.source }

// LoadError is why the module was refused (nil when it loaded). An engine
// whose module was refused decides everything with the fallback.
func (e *Engine) LoadError() error { return e.loadErr }

// Decide answers in. When in.Params is nil the options' parameters are used.
// in itself is not modified.
//
// The answer comes from the module, or from the native fallback when the
// module does not make decisions of this kind, declines, or fails. A failure
// is logged (naming the module and what went wrong) and the instance thrown
// away; with OnErrorFail it is returned as an error wrapping ErrModule
// instead of a fallback answer (FallbackResult makes that answer).
func (e *Engine) Decide(ctx context.Context, in *hostabi.Input) (Result, error) {
	if in.Kind < hostabi.KindBoot || in.Kind > hostabi.KindExit {
		return Result{}, fmt.Errorf("policy: decision kind %d is not boot, shutdown or exit", uint32(in.Kind))
	}
	input := *in
	if input.Params == nil {
		input.Params = e.opts.Params
	}
	if len(input.History) > hostabi.MaxHistory {
		input.History = input.History[len(input.History)-hostabi.MaxHistory:]
	}
	res := Result{Policy: e.identity}
	if e.loadErr != nil {
		return e.fallback(res, &input, e.loadErr.Error(), e.loadErr)
	}
	if !e.meta.Supports(input.Kind) {
		return e.fallback(res, &input, fmt.Sprintf("module %s does not make %s decisions", e.identity, input.Kind), nil)
	}
	e.mu.Lock()
	d, declined, err := e.call(ctx, &input)
	e.mu.Unlock()
	switch {
	case err != nil:
		err = fmt.Errorf("%w: %s: %s decision: %w", ErrModule, e.identity, input.Kind, err)
		return e.fallback(res, &input, err.Error(), err)
	case declined:
		return e.fallback(res, &input, fmt.Sprintf("module %s declined the %s decision", e.identity, input.Kind), nil)
	}
	res.Decision = d
	res.Digest = e.digest
	return res, nil
}

// fallback answers with the native decisions. failure is nil when nothing
// went wrong (the module does not make or declined the decision).
func (e *Engine) fallback(res Result, in *hostabi.Input, reason string, failure error) (Result, error) {
	if failure != nil {
		if e.opts.OnError == OnErrorFail {
			return res, fmt.Errorf("policy: %w", failure)
		}
		e.log.Warn("policy: module failed; deciding with the native fallback",
			"module", e.identity, "decision", in.Kind.String(), "error", reason)
		return nativeResult(in, res.Policy, reason, true), nil
	}
	e.log.Debug("policy: deciding with the native fallback", "module", e.identity, "decision", in.Kind.String(), "reason", reason)
	res = nativeResult(in, res.Policy, reason, false)
	res.Digest = e.digest // the module's answer by design: it declined, or does not make this kind
	return res, nil
}

// call runs one decision in the module's instance, making one if needed.
// On error the instance is discarded.
func (e *Engine) call(ctx context.Context, in *hostabi.Input) (d hostabi.Decision, declined bool, err error) {
	e.buf, err = hostabi.AppendInput(e.buf[:0], in)
	if err != nil {
		return d, false, err
	}
	if e.rt == nil {
		return d, false, errors.New("engine closed")
	}
	if e.inst == nil {
		if e.inst, err = e.instantiate(ctx); err != nil {
			return d, false, err
		}
	}
	inst := e.inst
	defer func() {
		if err != nil {
			inst.mod.Close(context.Background())
			e.inst = nil
		}
	}()
	if err := ctx.Err(); err != nil {
		return d, false, err
	}
	// The watchdog, not a context deadline, bounds the call: a timer context
	// per call costs more than the decision itself. The caller's context is
	// checked above, not awaited: Timeout bounds the decision. A bounded
	// instance needs no watchdog: its fuel bounds the call.
	st := inst.stack[:]
	if inst.fuel != nil {
		inst.refuel() // one budget per decision, even when it needs a buffer first
	} else {
		e.watch.arm(inst.mod) // one clock per decision, even when it needs a buffer first
	}
	what := hostabi.ExportDecide
	if inst.inCap < uint32(len(e.buf)) {
		what = hostabi.ExportAlloc
	}
	err = inst.write(st, e.buf)
	if err == nil {
		st[0], st[1], st[2] = uint64(in.Kind), uint64(inst.inPtr), uint64(len(e.buf))
		what = hostabi.ExportDecide
		if err = inst.decide.CallWithStack(context.Background(), st); err != nil {
			err = fmt.Errorf("%s: %w", what, trapError{err})
		}
	}
	if inst.fuel == nil && e.watch.disarm() {
		return d, false, fmt.Errorf("%s: timed out after %s", what, e.opts.Timeout)
	}
	if err != nil {
		if inst.fuel != nil && inst.fuel.Get() == 0 {
			err = fmt.Errorf("%s: spent its budget of %d loop turns and calls", what, inst.budget)
		}
		return d, false, err
	}
	if int64(st[0]) < 0 {
		return d, true, nil
	}
	optr, olen := uint32(st[0]>>32), uint32(st[0])
	if olen > hostabi.MaxOutputSize {
		return d, false, fmt.Errorf("oversized output: decision record is %d bytes, more than %d", olen, hostabi.MaxOutputSize)
	}
	out, ok := inst.mem.Read(optr, olen)
	if !ok {
		return d, false, fmt.Errorf("decision record [%d, +%d) is outside the module's %d-byte memory", optr, olen, inst.mem.Size())
	}
	d, err = e.decode(in.Kind, out)
	return d, false, err
}

// decode decodes and validates the decision record b. A policy gives few
// distinct reasons: when b's reason is one already stored, the record is
// checked without its reason and the stored copy is used, so a decision
// allocates nothing for it.
func (e *Engine) decode(k hostabi.Kind, b []byte) (hostabi.Decision, error) {
	d, err := e.decodeRecord(k, b)
	if err != nil {
		return d, err
	}
	if _, minor := hostabi.SplitVersion(e.abi); minor < hostabi.VersionMinor {
		if err := d.ValidateMinor(k, minor); err != nil {
			return hostabi.Decision{}, fmt.Errorf("hostabi: %w: %w", hostabi.ErrMalformed, err)
		}
	}
	return d, nil
}

// decodeRecord is decode without the checks of the module's minor version.
func (e *Engine) decodeRecord(k hostabi.Kind, b []byte) (hostabi.Decision, error) {
	if len(b) >= hostabi.OutputHeaderSize && len(b) <= hostabi.MaxOutputSize {
		size, rl := binary.LittleEndian.Uint32(b[hostabi.OutputOffSize:]), binary.LittleEndian.Uint32(b[hostabi.OutputOffReasonLen:])
		if uint64(size) == hostabi.OutputHeaderSize+uint64(rl) && uint64(size) <= uint64(len(b)) {
			if reason, ok := e.reasons[string(b[hostabi.OutputHeaderSize:size])]; ok {
				var h [hostabi.OutputHeaderSize]byte
				copy(h[:], b)
				binary.LittleEndian.PutUint32(h[hostabi.OutputOffSize:], hostabi.OutputHeaderSize)
				binary.LittleEndian.PutUint32(h[hostabi.OutputOffReasonLen:], 0)
				d, err := hostabi.DecodeDecision(k, h[:])
				if err != nil {
					return hostabi.Decision{}, err
				}
				d.Reason = reason
				return d, nil
			}
		}
	}
	d, err := hostabi.DecodeDecision(k, b)
	if err == nil {
		d.Reason = e.intern(d.Reason)
	}
	return d, err
}

// write puts the input record b into the instance's input buffer, asking
// hermes_alloc for one first when the instance has none yet or one smaller
// than b. The module keeps that buffer for the instance's life.
func (inst *instance) write(st []uint64, b []byte) error {
	n := uint32(len(b))
	if inst.inCap < n {
		capacity := max(n, minInputBuffer)
		st[0] = uint64(capacity)
		if err := inst.alloc.CallWithStack(context.Background(), st); err != nil {
			return fmt.Errorf("%s: %w", hostabi.ExportAlloc, trapError{err})
		}
		ptr := uint32(st[0])
		if !inst.mem.Write(ptr, b) {
			return fmt.Errorf("%s returned [%d, +%d), outside the module's %d-byte memory", hostabi.ExportAlloc, ptr, n, inst.mem.Size())
		}
		if uint64(ptr)+uint64(capacity) > uint64(inst.mem.Size()) {
			return fmt.Errorf("%s(%d) returned [%d, +%d), which ends past the module's %d-byte memory",
				hostabi.ExportAlloc, capacity, ptr, capacity, inst.mem.Size())
		}
		inst.inPtr, inst.inCap = ptr, capacity
		return nil
	}
	if !inst.mem.Write(inst.inPtr, b) { // memory never shrinks: a checked buffer stays inside
		return fmt.Errorf("input buffer [%d, +%d) is outside the module's %d-byte memory", inst.inPtr, n, inst.mem.Size())
	}
	return nil
}

// intern returns a stored copy of reason: a policy gives few distinct
// reasons, and a long-lived supervisor should not keep a copy per decision.
func (e *Engine) intern(reason string) string {
	if r, ok := e.reasons[reason]; ok {
		return r
	}
	if e.reasons == nil || len(e.reasons) >= 256 {
		e.reasons = map[string]string{}
	}
	e.reasons[reason] = reason
	return reason
}

// trapError is an error of a call into the module without the wasm stack
// trace wazero appends on the lines after its message: a log line and an
// error a user reads are one line.
type trapError struct{ err error }

func (e trapError) Error() string {
	s, _, _ := strings.Cut(e.err.Error(), "\n")
	return s
}

func (e trapError) Unwrap() error { return e.err }

// callError says what happened when a call into the module failed.
func callError(ctx context.Context, err error, limit time.Duration) error {
	err = trapError{err}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", limit, err)
	}
	return err
}

// Close releases the module. The engine must not be used afterwards.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	if e.rt != nil {
		err = e.rt.Close(ctx)
		e.rt = nil
	}
	e.watch.stop()
	if e.cache != nil {
		err = errors.Join(err, e.cache.Close(ctx))
		e.cache = nil
	}
	e.inst = nil
	return err
}
