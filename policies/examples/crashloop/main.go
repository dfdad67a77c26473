// Command crashloop is an example policy written in Go with the guest SDK:
// crashes restart with exponential backoff, a crash loop stops the gateway
// for good and keeps it down at the next boot. Everything else decides like
// the default policy.
//
//	supervisor policy build policies/examples/crashloop -o crashloop.wasm
//	supervisor policy test policies/examples/crashloop
package main

import (
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
	})
}
