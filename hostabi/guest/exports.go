//go:build wasip1

package guest

import (
	"unsafe"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// input is the buffer hermes_alloc hands out. The host asks for it once per
// instance and writes every decision's input into it; it stays referenced
// here (and Go's collector never moves memory), so it remains valid until a
// later hermes_alloc for a larger input replaces it.
var input []byte

// pack returns the ptr<<32 | len form of b.
func pack(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	return int64(uintptr(unsafe.Pointer(&b[0])))<<32 | int64(len(b))
}

//go:wasmexport hermes_abi_version
func exportABIVersion() int32 {
	return int32(hostabi.Version(hostabi.VersionMajor, hostabi.VersionMinor))
}

//go:wasmexport hermes_metadata
func exportMetadata() int64 {
	return pack(metadata)
}

//go:wasmexport hermes_alloc
func exportAlloc(n int32) int32 {
	if n < 1 {
		n = 1
	}
	if cap(input) < int(n) {
		input = make([]byte, n)
	}
	input = input[:cap(input)]
	return int32(uintptr(unsafe.Pointer(&input[0])))
}

//go:wasmexport hermes_decide
func exportDecide(kind, ptr, n int32) int64 {
	if len(input) == 0 || ptr != int32(uintptr(unsafe.Pointer(&input[0]))) || n < 0 || int(n) > len(input) {
		return -2 // not the buffer hermes_alloc handed out
	}
	out, code := decide(hostabi.Kind(kind), input[:n])
	if code < 0 {
		return code
	}
	return pack(out)
}
