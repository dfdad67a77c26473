// Package policy is the host side of policy modules: it loads the embedded
// default module or an operator's file, runs decisions in a wazero sandbox
// with a time and memory limit, and falls back to the native decisions of
// package fallback whenever a module cannot be trusted to answer.
//
// It must not import the supervisor, s6 or cmd packages: it knows modules,
// inputs and decisions, never processes or files on the volume.
package policy

import (
	"context"
	"log/slog"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

// Options configure an Engine. The zero value of each field means its default.
type Options struct {
	Module      string        // path of a .wasm file; "" = the embedded default module
	SHA256      string        // optional pin of the module file (64 hex digits)
	Timeout     time.Duration // per decision; default 100ms
	MemoryLimit uint64        // bytes of linear memory; default 16 MiB
	OnError     string        // "fallback" (default) or "fail"
	CacheDir    string        // on-disk compilation cache; "" = none
	Params      hostabi.Params
	Logger      *slog.Logger // where fallback reasons are logged; nil = slog.Default()
}

// Result is a decision and how it was made.
type Result struct {
	Decision       hostabi.Decision
	Policy         string // the module that was asked: name@first 8 hex digits of its sha256
	Fallback       bool   // the native fallback decided
	FallbackReason string // why, when Fallback
}

// Engine makes decisions. It is safe for use by one goroutine at a time.
type Engine struct {
	opts Options
}

// Open prepares an engine. TEMPORARY: decides with the native fallback only,
// until the wazero host lands.
func Open(ctx context.Context, o Options) (*Engine, error) {
	return &Engine{opts: o}, nil
}

// Identity names the module: name@digest8.
func (e *Engine) Identity() string { return fallback.Name + "@native" }

// Decide answers in, filling in the parameters from the options.
func (e *Engine) Decide(ctx context.Context, in *hostabi.Input) (Result, error) {
	in.Params = e.opts.Params
	return Result{Decision: fallback.Decide(in), Policy: e.Identity(), Fallback: true, FallbackReason: "no module loaded"}, nil
}

// Close releases the module.
func (e *Engine) Close(ctx context.Context) error { return nil }
