package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

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
// the file written, when known. Through a spare, everything is done
// relative to the directory held open: no path is resolved again.
func (p *Prepared) Replace(data []byte, durable bool) (dev, ino uint64, ok bool, err error) {
	if p.dir == nil {
		p.dropSpares()
		return 0, 0, false, writeAtomic(p.path, data, 0o644, durable)
	}
	dirfd := int(p.dir.Fd())
	base := filepath.Base(p.path)
	var sp spare
	for len(p.spares) > 0 && sp.f == nil {
		sp, p.spares = p.spares[0], p.spares[1:]
		if !sameAt(sp.f, dirfd, filepath.Base(sp.name)) {
			sp.f.Close() // removed or replaced behind our back: never written through
			sp = spare{}
		}
	}
	if sp.f == nil {
		return 0, 0, false, writeAtomic(p.path, data, 0o644, durable)
	}
	spBase := filepath.Base(sp.name)
	fail := func(err error) (uint64, uint64, bool, error) {
		sp.f.Close()
		_ = unix.Unlinkat(dirfd, spBase, 0)
		return 0, 0, false, err
	}
	var cur unix.Stat_t
	if unix.Fstatat(dirfd, base, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil && cur.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fail(fmt.Errorf("state: write %s: %w: is a directory", p.path, ErrNotRegular))
	}
	var st syscall.Stat_t
	identified := syscall.Fstat(int(sp.f.Fd()), &st) == nil
	if _, err := sp.f.Write(data); err != nil {
		return fail(fmt.Errorf("state: write %s: %w", p.path, err))
	}
	if durable {
		if err := sp.f.Sync(); err != nil {
			return fail(fmt.Errorf("state: write %s: %w", p.path, err))
		}
	}
	if err := sp.f.Close(); err != nil {
		_ = unix.Unlinkat(dirfd, spBase, 0)
		return 0, 0, false, fmt.Errorf("state: write %s: %w", p.path, err)
	}
	if err := unix.Renameat(dirfd, spBase, dirfd, base); err != nil {
		_ = unix.Unlinkat(dirfd, spBase, 0)
		return 0, 0, false, fmt.Errorf("state: write %s: %w", p.path, err)
	}
	if durable {
		if err := p.dir.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
			return 0, 0, false, fmt.Errorf("state: sync %s: %w", filepath.Dir(p.path), err)
		}
	}
	return uint64(st.Dev), st.Ino, identified, nil
}

// sameAt reports whether the open file f is still the entry name of the
// directory dirfd (the entry itself, never a symlink's target).
func sameAt(f *os.File, dirfd int, name string) bool {
	var a syscall.Stat_t
	var b unix.Stat_t
	if syscall.Fstat(int(f.Fd()), &a) != nil || unix.Fstatat(dirfd, name, &b, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// dropSpares closes the spares and removes those still ours.
func (p *Prepared) dropSpares() {
	for _, sp := range p.spares {
		if sameFile(sp.f, sp.name) {
			_ = removeLazy(sp.name)
		}
		sp.f.Close()
	}
	p.spares = nil
}

// Close releases what p holds and removes its unused spares.
func (p *Prepared) Close() {
	p.dropSpares()
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
