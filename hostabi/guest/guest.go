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
//	func init() {
//		guest.Register(guest.Policy{Name: "mine", Version: "1.0.0", Boot: boot, Exit: exit})
//	}
//
// Build it as a WASI reactor (what "supervisor policy build" does):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o mine.wasm .
//
// The host runs _initialize (which runs the init functions, hence Register)
// before any decision. A decision function left nil is not supported: the
// module declines it and the host decides with its fallback. A decision
// function that panics traps the module; the host discards the instance and
// falls back too.
//
// It imports hostabi and the standard library only, and must not import
// anything that needs a real operating system: it runs inside the sandbox.
package guest

import "github.com/hermes-supervisor/hermes-supervisor/hostabi"

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
