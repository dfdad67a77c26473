package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// MaxFileSize is the most this package reads of any file. Every file it
// writes is far smaller; anything larger is not ours and reads as unreadable.
const MaxFileSize = 256 << 10

// Errors wrapped by this package's errors; check them with errors.Is.
var (
	// ErrUnreadable: a file exists but cannot be used (bad JSON, wrong type,
	// too large, a symlink, a directory, a FIFO, a permission error). The
	// caller treats it as "no state" and logs the error, which names the file.
	ErrUnreadable = errors.New("unreadable")
	// ErrNotRegular: a path this package writes is a directory or another
	// non-regular, non-symlink file it refuses to replace.
	ErrNotRegular = errors.New("not a regular file")
)

// readFile reads path without following a symlink and without blocking on a
// FIFO, refusing anything but a regular file of at most MaxFileSize bytes.
// A missing file returns an error wrapping os.ErrNotExist; every other
// failure wraps ErrUnreadable and names path.
func readFile(path string) ([]byte, error) {
	data, err := volume.ReadFile(path, MaxFileSize)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("state: %s: %w", path, os.ErrNotExist)
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("state: %s: %w: is a symlink", path, ErrUnreadable)
	}
	return nil, fmt.Errorf("state: %s: %w: %w", path, ErrUnreadable, unwrapPath(err))
}

// unwrapPath drops the path an *os.PathError repeats: this package's
// errors name the file themselves.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var tmpSeq atomic.Uint64

// WriteAtomic replaces path with data, durably: it writes a temporary file
// in the same directory, fsyncs it, renames it over path and fsyncs the
// directory. A reader (or a crash at any moment) sees the old content or
// the new, never a mix. If path is a symlink, the link itself is replaced
// (its target is never written); if it is a directory, WriteAtomic refuses
// with an error wrapping ErrNotRegular. The file gets mode perm (before the
// umask).
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, data, perm, true)
}

func writeAtomic(path string, data []byte, perm os.FileMode, durable bool) error {
	if fi, err := volume.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("state: write %s: %w: is a directory", path, ErrNotRegular)
	}
	f, tmp, err := createTemp(path, perm)
	if err != nil {
		return err
	}
	var sync func() error
	if durable {
		sync = func() error { return syncDir(filepath.Dir(path)) }
	}
	return commitTemp(f, tmp, path, data, sync)
}

// commitTemp writes data into the new temporary file f (named tmp) and
// renames it over path. With syncDir set, f is fsynced before the rename
// and syncDir (the fsync of the directory) is called after it; without, the
// replacement is atomic but not durable. f is closed; on failure tmp is
// removed.
func commitTemp(f *os.File, tmp, path string, data []byte, syncDir func() error) error {
	fail := func(err error) error {
		f.Close()
		volume.Remove(tmp)
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if syncDir != nil {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		volume.Remove(tmp)
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	if err := volume.Rename(tmp, path); err != nil {
		volume.Remove(tmp)
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	if syncDir == nil {
		return nil
	}
	return syncDir()
}

// createTemp creates a new, empty temporary file beside path, named
// ".<base>.tmp-<pid>-<n>" (boot sweeps such names), never following a
// symlink.
func createTemp(path string, perm os.FileMode) (*os.File, string, error) {
	dir := filepath.Dir(path)
	for range 100 {
		tmp := filepath.Join(dir, "."+filepath.Base(path)+".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(tmpSeq.Add(1), 10))
		f, err := volume.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			return f, tmp, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", fmt.Errorf("state: write %s: %w", path, err)
		}
	}
	return nil, "", fmt.Errorf("state: write %s: no free temporary name", path)
}

func syncDir(dir string) error {
	d, err := volume.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("state: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("state: sync %s: %w", dir, err)
	}
	return nil
}

// removeFile removes path (a symlink itself, never its target) and fsyncs
// the directory. A missing file is no error. It refuses to remove a
// directory.
func removeFile(path string) error { return remove(path, true) }

// removeLazy is removeFile without the fsync, for files whose return after
// a power loss is harmless (a consumed marker fails its own checks again; a
// verdict names a life that is over).
func removeLazy(path string) error { return remove(path, false) }

func remove(path string, durable bool) error {
	fi, err := volume.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: remove %s: %w", path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("state: remove %s: %w: is a directory", path, ErrNotRegular)
	}
	if err := volume.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("state: remove %s: %w", path, err)
	}
	if !durable {
		return nil
	}
	return syncDir(filepath.Dir(path))
}

// Lock is a held advisory lock. Release it with Unlock.
type Lock struct {
	f    *os.File
	held bool // the file belongs to a Keeper: unlock, do not close
}

// LockFile takes an exclusive flock on path+".lock", creating it if needed
// (mode 0666 before the umask, so that an unprivileged operator and the
// supervisor share it). It waits until the lock is free or timeout passes
// (then it fails with an error naming the lock file). A lock file owned by
// another user that this process cannot write is opened read-only: flock
// needs no write permission.
func LockFile(path string, timeout time.Duration) (*Lock, error) {
	lp := path + ".lock"
	f, err := openLock(lp)
	if err != nil {
		return nil, err
	}
	if err := flockWait(f, lp, timeout); err != nil {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// openLock opens (creating it if needed) the lock file lp.
func openLock(lp string) (*os.File, error) {
	f, err := volume.OpenFile(lp, os.O_RDWR|os.O_CREATE|syscall.O_NONBLOCK, 0o666)
	if errors.Is(err, os.ErrPermission) {
		f, err = volume.OpenFile(lp, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("state: lock %s: %w", lp, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("state: lock %s: %w", lp, ErrNotRegular)
	}
	return f, nil
}

// flockWait takes an exclusive flock on f (the lock file lp), waiting up to
// timeout.
func flockWait(f *os.File, lp string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Microsecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("state: lock %s: %w", lp, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("state: lock %s: still held by another process after %s", lp, timeout)
		}
		time.Sleep(wait)
		if wait < 10*time.Millisecond {
			wait *= 2
		}
	}
}

// Unlock releases the lock. It is safe to call on a nil Lock.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if !l.held {
		l.f.Close()
	}
	l.f = nil
}

// LockTimeout is how long an update waits for the state lock.
const LockTimeout = 5 * time.Second
