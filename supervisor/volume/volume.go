// Package volume is how the supervisor reaches files on the volume, which
// belongs to the gateway user, from processes that may run as root (boot,
// the registrar, operator commands run as root).
//
// A process confines itself to the volume once, at start (Confine; every
// command of cmd/supervisor that touches the volume does). From then on,
// every operation of this package on a path beneath the volume resolves
// that path in the kernel, beneath the volume's directory, following no
// symlink in any component and never leaving it (openat2 with
// RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS), and
// acts on the last component through the directory descriptor it found
// (openat, mkdirat, unlinkat, renameat, fchownat with O_NOFOLLOW or
// AT_SYMLINK_NOFOLLOW). A directory the gateway user swaps for a symlink
// between two calls makes the call fail; it never redirects it. Paths
// outside every confined directory (configuration, /proc, the scan
// directory) are used as given, the last component never followed.
//
// A regular file of the volume that root opens must have one link: a
// hard link to a file elsewhere (when fs.protected_hardlinks allows one at
// all) is refused rather than read or written.
//
// The packages that keep the volume's files (state, journal, boot's log,
// slot's log directories, ops' profile directories, config's profile.toml)
// go through here; nothing else of the supervisor opens a volume path.
//
// It must not import any other package of this repository.
package volume

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrLinks is wrapped when a file of the volume has more than one link.
var ErrLinks = errors.New("has more than one link")

// ErrSymlink is wrapped when a path of the volume goes through a symlink
// (or would leave the volume).
var ErrSymlink = errors.New("goes through a symlink or leaves the volume")

type root struct {
	path string // absolute, clean
	fd   int    // O_PATH|O_DIRECTORY
}

var (
	mu    sync.RWMutex
	roots []root
)

// Confine makes every later operation of this package on a path beneath
// dir (the volume, $HERMES_HOME) resolve beneath it, with no symlink
// followed. dir itself may be reached through symlinks (it comes from the
// configuration, not from the volume). Confining the same directory again
// is a no-op.
func Confine(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range roots {
		if r.path == abs {
			return nil
		}
	}
	fd, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("volume: open %s: %w", abs, err)
	}
	roots = append(roots, root{abs, fd})
	return nil
}

// Release undoes every Confine (tests).
func Release() {
	mu.Lock()
	defer mu.Unlock()
	for _, r := range roots {
		unix.Close(r.fd)
	}
	roots = nil
}

// Confined reports whether path is beneath a confined directory.
func Confined(path string) bool {
	_, _, ok := beneath(path)
	return ok
}

// beneath finds the confined directory holding path and path's name
// relative to it ("." for the directory itself).
func beneath(path string) (root, string, bool) {
	mu.RLock()
	defer mu.RUnlock()
	if len(roots) == 0 {
		return root{}, "", false
	}
	if !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return root{}, "", false
		}
		path = abs
	}
	path = filepath.Clean(path)
	for _, r := range roots {
		if path == r.path {
			return r, ".", true
		}
		if rel, ok := strings.CutPrefix(path, r.path+"/"); ok {
			return r, rel, true
		}
		if r.path == "/" {
			return r, path[1:], true
		}
	}
	return root{}, "", false
}

// resolve opens the directory rel beneath r, following no symlink.
func (r root) resolve(rel string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN: // EAGAIN: a rename raced the lookup
			continue
		case err == unix.ELOOP || err == unix.EXDEV:
			return -1, fmt.Errorf("%w", ErrSymlink)
		}
		return fd, err
	}
}

// Dir is the directory holding a path's last component, held open: the
// operations on that component go through it. Close it when done.
type Dir struct {
	fd    int  // the directory, or AT_FDCWD
	own   bool // fd is ours to close
	path  string
	Base  string // the last component
	vol   bool   // beneath a confined directory
	volFD int    // the confined directory's descriptor (vol only)
}

// Parent opens the directory holding path's last component.
func Parent(path string) (*Dir, error) {
	r, rel, ok := beneath(path)
	if !ok {
		return &Dir{fd: unix.AT_FDCWD, path: path, Base: path}, nil
	}
	if rel == "." {
		return nil, fmt.Errorf("volume: %s: is the volume itself", path)
	}
	dir, base := filepath.Split(rel)
	if dir == "" {
		dir = "."
	}
	fd, err := r.resolve(strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: filepath.Dir(path), Err: err}
	}
	return &Dir{fd: fd, own: true, path: path, Base: base, vol: true, volFD: r.fd}, nil
}

// Close releases the directory.
func (d *Dir) Close() {
	if d.own {
		unix.Close(d.fd)
		d.own = false
	}
}

// FD is the directory's descriptor (AT_FDCWD outside the volume).
func (d *Dir) FD() int { return d.fd }

// Sync fsyncs the directory (the rename or creation of its last
// component). A file system that cannot fsync a directory is no error.
func (d *Dir) Sync() error {
	fd := d.fd
	if fd == unix.AT_FDCWD {
		dir, err := unix.Open(filepath.Dir(d.path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: filepath.Dir(d.path), Err: err}
		}
		defer unix.Close(dir)
		fd = dir
	}
	if err := unix.Fsync(fd); err != nil && err != unix.EINVAL {
		return &os.PathError{Op: "fsync", Path: filepath.Dir(d.path), Err: err}
	}
	return nil
}

// open opens path (beneath the volume, resolved there) with flags, never
// following a symlink in its last component, and returns the raw
// descriptor (close-on-exec).
func open(path string, flags int, perm uint32) (int, error) {
	d, err := Parent(path)
	if err != nil {
		return -1, err
	}
	defer d.Close()
	return d.Open(flags, perm)
}

// Open opens the directory's last component with flags (O_NOFOLLOW,
// O_CLOEXEC and O_NOCTTY added). On the volume, a regular file with more
// than one link is refused (and closed).
func (d *Dir) Open(flags int, perm uint32) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY
	var fd int
	var err error
	for {
		fd, err = unix.Openat(d.fd, d.Base, flags, perm)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: d.path, Err: err}
	}
	if d.vol {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, &os.PathError{Op: "stat", Path: d.path, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink > 1 {
			unix.Close(fd)
			return -1, &os.PathError{Op: "open", Path: d.path, Err: fmt.Errorf("%w (%d): a file of the volume must have one", ErrLinks, st.Nlink)}
		}
	}
	return fd, nil
}

// OpenFile is os.OpenFile on the volume: see Open.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := open(path, flag, uint32(perm.Perm()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenDir opens the directory path for reading (and fsync), never through
// a symlink.
func OpenDir(path string) (*os.File, error) {
	r, rel, ok := beneath(path)
	if ok && rel == "." {
		fd, err := r.resolve(".")
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
	return OpenFile(path, unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

// ReadFile reads the regular file path, of at most max bytes, without
// blocking on a FIFO. Anything but a regular file is refused with an error
// saying what it is.
func ReadFile(path string, max int64) ([]byte, error) {
	fd, err := open(path, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is a %s, not a regular file", Kind(fi.Mode()))}
	}
	if fi.Size() > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is %d bytes, more than %d", fi.Size(), max)}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("is more than %d bytes", max)}
	}
	return data, nil
}

// Kind names a non-regular file mode.
func Kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSymlink != 0:
		return "symlink"
	}
	return "special file"
}

// Lstat is os.Lstat, the path resolved on the volume.
func Lstat(path string) (os.FileInfo, error) {
	d, err := Parent(path)
	if err != nil {
		if r, rel, ok := beneath(path); ok && rel == "." {
			return os.Lstat(r.path)
		}
		return nil, err
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, d.Base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return fileInfo(d.Base, &st), nil
}

// Mkdir creates the directory path with perm (before the umask).
func Mkdir(path string, perm os.FileMode) error {
	d, err := Parent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Mkdirat(d.fd, d.Base, uint32(perm.Perm())); err != nil {
		return &os.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return nil
}

// Owner is a numeric user and group.
type Owner struct{ UID, GID int }

// MkdirAll creates path and the missing directories above it, each with
// perm (before the umask), and gives what it creates to owner (nil: the
// caller). An existing component that is not a directory, or a symlink, is
// an error. Beneath the volume each directory is created and given away
// through its parent's descriptor: never through a path the gateway user
// could redirect.
func MkdirAll(path string, perm os.FileMode, owner *Owner) error {
	if fi, err := Lstat(path); err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "mkdir", Path: path, Err: fmt.Errorf("exists and is a %s", Kind(fi.Mode()))}
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(path)
	if parent != path {
		if r, rel, ok := beneath(parent); !ok || rel != "." || r.path != parent {
			if err := MkdirAll(parent, perm, owner); err != nil {
				return err
			}
		}
	}
	d, err := Parent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	err = unix.Mkdirat(d.fd, d.Base, uint32(perm.Perm()))
	if errors.Is(err, unix.EEXIST) {
		return nil // made meanwhile
	}
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return d.chown(owner)
}

// Chown gives the directory's last component to owner (nil: nothing to
// do), never following a symlink.
func (d *Dir) chown(owner *Owner) error {
	if owner == nil {
		return nil
	}
	if err := unix.Fchownat(d.fd, d.Base, owner.UID, owner.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "chown", Path: d.path, Err: err}
	}
	return nil
}

// Lchown gives path itself (never a symlink's target) to uid:gid.
func Lchown(path string, uid, gid int) error {
	d, err := Parent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.chown(&Owner{uid, gid})
}

// Remove removes the file path (a symlink itself, never its target). It
// refuses a directory.
func Remove(path string) error {
	d, err := Parent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Unlinkat(d.fd, d.Base, 0); err != nil {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// Rename renames oldpath to newpath; both must be in the same directory
// tree (the volume, or neither in it).
func Rename(oldpath, newpath string) error {
	od, err := Parent(oldpath)
	if err != nil {
		return err
	}
	defer od.Close()
	nd, err := Parent(newpath)
	if err != nil {
		return err
	}
	defer nd.Close()
	if od.vol != nd.vol || od.volFD != nd.volFD {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: errors.New("not on the same volume")}
	}
	if err := unix.Renameat(od.fd, od.Base, nd.fd, nd.Base); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// ReadDir lists the directory path, sorted by name, never through a symlink.
func ReadDir(path string) ([]os.DirEntry, error) {
	f, err := OpenDir(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sortEntries(ents)
	return ents, nil
}

// RemoveAll removes path and everything below it, never following a
// symlink: a symlink is removed, not its target. A missing path is no
// error.
func RemoveAll(path string) error {
	d, err := Parent(path)
	if err != nil {
		return err
	}
	defer d.Close()
	err = removeAllAt(d.fd, d.Base, path)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// removeAllAt removes name under dirfd (named path in errors).
func removeAllAt(dirfd int, name, path string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	for {
		names, rerr := f.Readdirnames(256)
		for _, n := range names {
			if err := removeAllAt(fd, n, filepath.Join(path, n)); err != nil {
				f.Close()
				return err
			}
		}
		if rerr != nil || len(names) == 0 {
			break
		}
	}
	f.Close()
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// maxHops bounds how many absolute symlinks Exists follows (the kernel's
// own limit for a path's symlinks is 40).
const maxHops = 40

// Exists reports whether path names something, as a shell's `test -e`
// does, without ever leaving the volume: an entry of any type counts (a
// regular file, a directory, a FIFO ...), and a symlink counts when it
// resolves to something. Beneath the volume a symlink, anywhere on the
// path, is followed only while it stays there: a relative link resolved
// beneath the volume's directory, and an absolute one whose target lies in
// the volume (its path starts with the volume's). A link that dangles,
// leaves the volume or loops does not exist. Nothing is opened but with O_PATH (no read, no
// FIFO open). Outside the volume it is os.Stat.
//
// The error is for a path that cannot be looked up at all (a permission
// error); a missing one is (false, nil).
func Exists(path string) (bool, error) {
	r, rel, ok := beneath(path)
	if !ok {
		_, err := os.Stat(path)
		if err == nil {
			return true, nil
		}
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return false, nil
		}
		return false, err
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for hop := 0; ; {
		fd, err := unix.Openat2(r.fd, rel, &how)
		switch {
		case err == nil:
			unix.Close(fd)
			return true, nil
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP:
			return false, nil
		case err == unix.EXDEV:
			// An absolute symlink (or a link leaving the volume) on the
			// way. Follow the last component's link by hand when it
			// stays in the volume, and resolve again.
			hop++
			if hop > maxHops {
				return false, nil
			}
			next, ok := r.followLink(rel)
			if !ok {
				return false, nil
			}
			rel = next
		default:
			return false, &os.PathError{Op: "stat", Path: path, Err: err}
		}
	}
}

// followLink finds, in rel, the first component (beneath r) that is a
// symlink the kernel's resolution beneath r refused (an absolute one, or a
// relative one that climbs out of where it is), and returns rel with that
// component replaced by its target, relative to r, when the target lies in
// r; ok is false when there is none or it leaves r.
func (r root) followLink(rel string) (string, bool) {
	parts := strings.Split(rel, "/")
	for i := range parts {
		dir := "."
		if i > 0 {
			dir = strings.Join(parts[:i], "/")
		}
		dfd, err := r.resolve(dir)
		if err != nil {
			return "", false // an earlier component cannot be resolved beneath r either
		}
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dfd, parts[i], buf)
		unix.Close(dfd)
		if err != nil {
			continue // not a symlink (or missing: the retry says so)
		}
		if n <= 0 || n >= len(buf) {
			return "", false
		}
		target, ok := r.relative(dir, string(buf[:n]))
		if !ok {
			return "", false
		}
		return filepath.Clean(filepath.Join(append([]string{target}, parts[i+1:]...)...)), true
	}
	return "", false
}

// relative is a symlink's target, found in directory dir (relative to r),
// as a path relative to r; ok is false when it lies outside r.
func (r root) relative(dir, target string) (string, bool) {
	if !filepath.IsAbs(target) {
		next := filepath.Clean(filepath.Join(dir, target))
		return next, next != ".." && !strings.HasPrefix(next, "../")
	}
	target = filepath.Clean(target)
	switch {
	case target == r.path:
		return ".", true
	case r.path == "/":
		return target[1:], true
	}
	return strings.CutPrefix(target, r.path+"/")
}
