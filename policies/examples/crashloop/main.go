// Command crashloop is an example policy written in Go with the guest SDK:
// crashes restart with exponential backoff, a crash loop stops the gateway
// for good and keeps it down at the next boot. Everything else decides like
// the default policy. The crash loop's window and count are parameters:
//
//	[policy.params]
//	window = "10m"     # crashes counted within this long
//	max_crashes = 5    # this many crashes within the window stop the gateway for good
//
//	supervisor policy build policies/examples/crashloop --write crashloop.wasm
//	supervisor policy test policies/examples/crashloop
package main

import (
	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/hostabi/guest"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

func main() {}

func init() {
	guest.Register(guest.Policy{
		Name:     "crashloop",
		Version:  "1.0.0",
		Boot:     boot,
		Shutdown: fallback.Shutdown,
		Exit:     exit,
		// What it reads: its own two, and the two the default's boot reads.
		Params: []guest.Param{window, maxCrashes, guest.Bool(fallback.ParamMultiplex, false), guest.String(hostabi.ParamBootstrapState, "")},
	})
}
