// Package policies holds the policy modules shipped with the supervisor and
// their sources: default/ (the default policy, in AssemblyScript, embedded in
// the binary), examples/ (crashloop in Go, always in AssemblyScript) and
// sdk/assemblyscript (the AssemblyScript SDK). Each policy keeps its fixture
// scenarios in a fixtures/ directory beside it.
//
// This package embeds the built default module, its fixtures and the
// AssemblyScript kit of the scaffold; it imports nothing but the standard
// library. The Go example policies are separate main packages built to
// WebAssembly (policy/build), never linked into the supervisor.
package policies

import "embed"

// Default is the default policy module (default/default.wasm), built from
// default/default.ts by build.sh. A test rebuilds it and fails if these bytes
// are not what the pinned compiler produces.
//
//go:embed default/default.wasm
var Default []byte

// DefaultFixtures holds the default policy's fixture scenarios as
// "default/fixtures/*.toml".
//
//go:embed default/fixtures/*.toml
var DefaultFixtures embed.FS

// AssemblyScriptKit is what "supervisor policy new --lang assemblyscript"
// copies into a new policy: the SDK (sdk/assemblyscript/index.ts) and the
// lock file pinning the compiler (package-lock.json).
//
//go:embed sdk/assemblyscript/index.ts package-lock.json
var AssemblyScriptKit embed.FS
