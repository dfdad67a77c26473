// Package guest is the Go SDK for policy modules: it provides the exports of
// ABI 1.1 (hostabi's package doc) so that a policy author writes three plain
// functions and nothing about memory:
//
//	package main
//
//	import "github.com/hermes-supervisor/hermes-supervisor/hostabi/guest"
//
//	func main() {}
//
//	var window = guest.Duration("window", 10*time.Minute)
//
//	func init() {
//		guest.Register(guest.Policy{Name: "mine", Version: "1.0.0", Boot: boot, Exit: exit,
//			Params: []guest.Param{window}})
//	}
//
//	func exit(in *hostabi.Input) hostabi.Decision {
//		if in.Uptime < window.From(in) { ... }
//	}
//
// Build it as a WASI reactor (what "supervisor policy build" does):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o mine.wasm .
//
// The host runs _initialize (which runs the init functions, hence Register)
// before any decision. A decision function left nil is a decision the
// module does not make: its metadata leaves it out, and the host decides it
// with its built-in default (the default policy's answer), in production
// and in "supervisor policy test" alike. A decision function that panics
// traps the module; the host discards the instance and falls back too.
//
// Params declares the parameters the policy reads (the metadata's params
// key): "supervisor config check" then warns about a [policy.params] key
// the policy does not read, or of the wrong type, and "supervisor policy
// inspect" lists them. Declare each with Bool, Int, Float, String or
// Duration and read it with its From method, so that the declared default
// is the one used.
//
// It imports hostabi and the standard library only, and must not import
// anything that needs a real operating system: it runs inside the sandbox.
package guest

import (
	"strconv"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Func makes one decision. The input holds everything it may use, time
// included; it must not keep in or its slices after returning.
type Func func(in *hostabi.Input) hostabi.Decision

// Policy is what a module registers: its metadata and its decision functions.
type Policy struct {
	Name     string // [a-z0-9._-]{1,64}
	Version  string // 1 to 64 printable characters
	Boot     Func   // nil: the host's fallback decides at boot
	Shutdown Func   // nil: the host's fallback decides at shutdown
	Exit     Func   // nil: the host's fallback decides on exit
	// Params are the parameters the policy reads. nil declares nothing
	// (the host cannot tell which it reads); an empty, non-nil slice
	// declares that it reads none.
	Params []Param
}

// Param is a declared parameter: Bool, Int, Float, String or Duration.
type Param interface {
	Spec() hostabi.ParamSpec
}

// BoolParam is a boolean parameter and its default.
type BoolParam struct {
	Key     string
	Default bool
}

// Bool declares the boolean parameter key.
func Bool(key string, def bool) BoolParam { return BoolParam{key, def} }

// Spec is p as the metadata declares it.
func (p BoolParam) Spec() hostabi.ParamSpec {
	return hostabi.ParamSpec{Key: p.Key, Type: hostabi.SpecBool, Default: strconv.FormatBool(p.Default)}
}

// From is p's value in the input, or its default.
func (p BoolParam) From(in *hostabi.Input) bool { return in.Params.Bool(p.Key, p.Default) }

// IntParam is an integer parameter and its default.
type IntParam struct {
	Key     string
	Default int64
}

// Int declares the integer parameter key.
func Int(key string, def int64) IntParam { return IntParam{key, def} }

// Spec is p as the metadata declares it.
func (p IntParam) Spec() hostabi.ParamSpec {
	return hostabi.ParamSpec{Key: p.Key, Type: hostabi.SpecInt, Default: strconv.FormatInt(p.Default, 10)}
}

// From is p's value in the input, or its default.
func (p IntParam) From(in *hostabi.Input) int64 { return in.Params.Int(p.Key, p.Default) }

// FloatParam is a float parameter and its default.
type FloatParam struct {
	Key     string
	Default float64
}

// Float declares the float parameter key.
func Float(key string, def float64) FloatParam { return FloatParam{key, def} }

// Spec is p as the metadata declares it.
func (p FloatParam) Spec() hostabi.ParamSpec {
	return hostabi.ParamSpec{Key: p.Key, Type: hostabi.SpecFloat, Default: strconv.FormatFloat(p.Default, 'g', -1, 64)}
}

// From is p's value in the input, or its default.
func (p FloatParam) From(in *hostabi.Input) float64 { return in.Params.Float(p.Key, p.Default) }

// StringParam is a string parameter and its default (no comma or newline).
type StringParam struct {
	Key     string
	Default string
}

// String declares the string parameter key.
func String(key string, def string) StringParam { return StringParam{key, def} }

// Spec is p as the metadata declares it.
func (p StringParam) Spec() hostabi.ParamSpec {
	return hostabi.ParamSpec{Key: p.Key, Type: hostabi.SpecString, Default: p.Default}
}

// From is p's value in the input, or its default.
func (p StringParam) From(in *hostabi.Input) string { return in.Params.String(p.Key, p.Default) }

// DurationParam is a duration parameter (a string such as "10m") and its default.
type DurationParam struct {
	Key     string
	Default time.Duration
}

// Duration declares the duration parameter key.
func Duration(key string, def time.Duration) DurationParam { return DurationParam{key, def} }

// Spec is p as the metadata declares it.
func (p DurationParam) Spec() hostabi.ParamSpec {
	return hostabi.ParamSpec{Key: p.Key, Type: hostabi.SpecDuration, Default: shortDuration(p.Default)}
}

// shortDuration is d as a Go duration string without zero units: "10m",
// not "10m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// From is p's value in the input, or its default.
func (p DurationParam) From(in *hostabi.Input) time.Duration {
	return in.Params.Duration(p.Key, p.Default)
}

var (
	registered Policy
	metadata   []byte
	output     []byte // the last decision record, valid until the next call
)

// Register installs p as the module's policy. Call it from an init function.
func Register(p Policy) {
	registered = p
	m := hostabi.Metadata{Name: p.Name, Version: p.Version}
	for _, k := range []hostabi.Kind{hostabi.KindBoot, hostabi.KindShutdown, hostabi.KindExit} {
		if registered.fn(k) != nil {
			m.Decisions = append(m.Decisions, k)
		}
	}
	if p.Params != nil {
		m.DeclaresParams, m.Params = true, []hostabi.ParamSpec{}
		for _, q := range p.Params {
			m.Params = append(m.Params, q.Spec())
		}
	}
	metadata = []byte(m.Text())
}

func (p *Policy) fn(k hostabi.Kind) Func {
	switch k {
	case hostabi.KindBoot:
		return p.Boot
	case hostabi.KindShutdown:
		return p.Shutdown
	case hostabi.KindExit:
		return p.Exit
	}
	return nil
}

// decide answers a decision of kind k whose input record is b. It returns
// the encoded decision, or a negative code: -1 the policy does not make
// decisions of kind k, -2 the input record is malformed.
func decide(k hostabi.Kind, b []byte) ([]byte, int64) {
	f := registered.fn(k)
	if f == nil {
		return nil, -1
	}
	in, err := hostabi.DecodeInput(b)
	if err != nil {
		return nil, -2
	}
	in.Kind = k
	d := f(&in)
	output = hostabi.AppendDecision(output[:0], &d)
	return output, 0
}
