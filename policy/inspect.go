package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"slices"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Info is what Inspect finds out about a module.
type Info struct {
	Size     int
	SHA256   string
	ABI      uint32 // as hermes_abi_version returned it; 0 when it could not be asked
	Metadata *hostabi.Metadata
	Exports  []string // "name (params) -> (results)", and memories as "name: memory"
	Imports  []string // "module.name"
	Problem  error    // why the host would refuse the module; nil when it would load it
}

// Inspect compiles and instantiates wasm the way Open does, without a
// cache, and reports its interface, ABI version, metadata and digest. It
// runs no decision.
func Inspect(ctx context.Context, wasm []byte) Info {
	sum := sha256.Sum256(wasm)
	info := Info{Size: len(wasm), SHA256: hex.EncodeToString(sum[:])}
	e := &Engine{
		opts:  Options{Wasm: wasm, Timeout: DefaultTimeout, MemoryLimit: DefaultMemoryLimit},
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		watch: newWatchdog(DefaultTimeout),
	}
	defer e.Close(ctx)
	info.Problem = e.load(ctx)
	if e.compiled != nil {
		for _, f := range e.compiled.ImportedFunctions() {
			mod, name, _ := f.Import()
			info.Imports = append(info.Imports, mod+"."+name)
		}
		for _, m := range e.compiled.ImportedMemories() {
			mod, name, _ := m.Import()
			info.Imports = append(info.Imports, mod+"."+name+" (memory)")
		}
		// A module may import one function several times (Go-built ones
		// import fd_write twice): the host sees one import.
		slices.Sort(info.Imports)
		info.Imports = slices.Compact(info.Imports)
		for name, f := range e.compiled.ExportedFunctions() {
			info.Exports = append(info.Exports, name+" "+sigString(f.ParamTypes(), f.ResultTypes()))
		}
		for name := range e.compiled.ExportedMemories() {
			info.Exports = append(info.Exports, name+": memory")
		}
		slices.Sort(info.Exports)
	}
	info.ABI = e.abi
	if e.meta.Name != "" {
		m := e.meta
		info.Metadata = &m
	}
	return info
}
