package hostabi

import "embed"

// Source holds the Go source of this package and of the guest SDK
// (hostabi/guest) as "*.go" and "guest/*.go". "supervisor policy new" writes
// them, test files left out, into a scaffold so that a new policy builds
// offline against exactly the ABI of the binary that made it.
//
//go:embed *.go guest/*.go
var Source embed.FS
