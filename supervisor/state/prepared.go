package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Prepared replaces one file of the volume atomically, as WriteAtomic
// does, through temporary files created beforehand: spares, empty
// ".<base>.tmp-<pid>-<n>" files beside it, and its directory held open. A
// replacement through a spare creates no inode and resolves no path but
// the file's own: what a supervisor writes when its gateway stops (the
// state, the exit history, the ledger) is prepared while the gateway runs.
// Whatever it cannot prepare, or finds changed on disk (a spare removed or
// replaced), it does the ordinary way.
//
// A Prepared is not safe for concurrent use.
type Prepared struct {
	path   string
	want   int // spares to keep ready
	dir    *os.File
	spares []spare
}

type spare struct {
	f    *os.File
	name string
}

// Prepare readies replacements of the file at path, with n spares.
func Prepare(path string, n int) *Prepared {
	p := &Prepared{path: path, want: n}
	p.Refill()
	return p
}

// Refill opens what the next replacements need and is missing. It is cheap
// when nothing is missing; failures are left for the replacement to meet.
func (p *Prepared) Refill() {
	if p.dir == nil {
		if d, err := volume.OpenDir(filepath.Dir(p.path)); err == nil {
			p.dir = d
		}
	}
	for len(p.spares) < p.want {
		f, name, err := createTemp(p.path, 0o644)
		if err != nil {
			return
		}
		p.spares = append(p.spares, spare{f, name})
	}
}

// Replace replaces the file with data: durably (fsync of the file before
// the rename, of the directory after) or not. It returns the identity of
// the file written, when known.
func (p *Prepared) Replace(data []byte, durable bool) (dev, ino uint64, ok bool, err error) {
	var sp spare
	for len(p.spares) > 0 && sp.f == nil {
		sp, p.spares = p.spares[0], p.spares[1:]
		if !sameFile(sp.f, sp.name) {
			sp.f.Close() // removed or replaced behind our back: never written through
			sp = spare{}
		}
	}
	if sp.f == nil || p.dir == nil {
		if sp.f != nil {
			sp.f.Close()
			_ = removeLazy(sp.name) // ours, but unusable without the directory
		}
		return 0, 0, false, writeAtomic(p.path, data, 0o644, durable)
	}
	if fi, err := volume.Lstat(p.path); err == nil && fi.IsDir() {
		sp.f.Close()
		_ = removeLazy(sp.name)
		return 0, 0, false, fmt.Errorf("state: write %s: %w: is a directory", p.path, ErrNotRegular)
	}
	var st syscall.Stat_t
	identified := syscall.Fstat(int(sp.f.Fd()), &st) == nil
	var sync func() error
	if durable {
		sync = func() error {
			if err := p.dir.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
				return fmt.Errorf("state: sync %s: %w", filepath.Dir(p.path), err)
			}
			return nil
		}
	}
	if err := commitTemp(sp.f, sp.name, p.path, data, sync); err != nil {
		return 0, 0, false, err
	}
	return uint64(st.Dev), st.Ino, identified, nil
}

// Close releases what p holds and removes its unused spares.
func (p *Prepared) Close() {
	for _, sp := range p.spares {
		if sameFile(sp.f, sp.name) {
			_ = removeLazy(sp.name)
		}
		sp.f.Close()
	}
	p.spares = nil
	if p.dir != nil {
		p.dir.Close()
		p.dir = nil
	}
}

// replaceVia replaces path with data through p when given, else the
// ordinary way.
func replaceVia(p *Prepared, path string, data []byte, durable bool) error {
	if p != nil {
		_, _, _, err := p.Replace(data, durable)
		return err
	}
	return writeAtomic(path, data, 0o644, durable)
}
