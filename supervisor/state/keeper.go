package state

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Keeper makes durable updates of one state file for a long-lived writer
// (the supervisor of a running gateway) with everything an update needs
// opened beforehand: the directory (for its fsync), the lock file and an
// empty temporary file, created while nothing is urgent. An update then
// creates no file and resolves no path but the state file's own: on a
// container stop, when every gateway's supervisor makes its decision durable
// at once, each does only the write, the fsyncs and the rename. What it
// writes, and how (same lock, temporary file, fsync, rename, fsync of the
// directory), is exactly Set's.
//
// A Keeper is not safe for concurrent use. Whatever it cannot prepare, or
// finds changed on disk (the spare or the lock file removed or replaced),
// it does the ordinary way, as Set does.
type Keeper struct {
	path    string
	timeout time.Duration // how long an update waits for the lock; 0 = LockTimeout
	lock    *os.File
	// out holds the directory and two spares: a stop may write twice
	// (the decision before forwarding, the record once the gateway is
	// gone), and neither should create a file.
	out *Prepared

	// last is what the Keeper's last update made durable through its
	// spare: the bytes, the file's identity and the two states in it.
	last struct {
		ok              bool
		data            []byte
		dev, ino        uint64
		gateway, desire hostabi.State
	}
}

// keeperSpares is how many temporary files a Keeper keeps ready.
const keeperSpares = 2

// NewKeeper prepares durable updates of the state file at path. It removes
// temporary files of this state file left by writers that are no longer
// running (a supervisor SIGKILLed with its spare ready).
func NewKeeper(path string) *Keeper {
	k := &Keeper{path: path}
	k.removeOrphans()
	k.out = Prepare(path, keeperSpares)
	k.Prepare()
	return k
}

// Prepare opens what the next updates need and is missing. It is cheap
// when nothing is missing; failures are left for the update to meet and
// report.
func (k *Keeper) Prepare() {
	if k.lock == nil {
		if f, err := openLock(k.path + ".lock"); err == nil {
			k.lock = f
		}
	}
	k.out.Refill()
}

// Set applies c to the state file at time now, like Set: durably.
func (k *Keeper) Set(c Change, now time.Time) (File, error) {
	return k.apply(func(f *File) error { return c.Apply(f, now) }, true)
}

// SetLazy is Set without the fsyncs: atomic (a reader or a SIGKILL sees
// the old file or the new), but a power cut may keep the old one. For a
// record written once the decided states are already durable.
func (k *Keeper) SetLazy(c Change, now time.Time) (File, error) {
	return k.apply(func(f *File) error { return c.Apply(f, now) }, false)
}

// apply is Update through the Keeper.
func (k *Keeper) apply(fn func(*File) error, durable bool) (File, error) {
	k.last.ok = false // a durable write through the spare sets it again
	f, err := update(k.path, k.acquire, func(data []byte) error { return k.write(data, durable) }, fn)
	if err == nil {
		k.last.gateway, k.last.desire = f.Gateway(), f.Desired()
	}
	return f, err
}

// Holds reports whether a decision to persist gateway_state gw and
// desired_state desired (StateNone: leave as is) is durable already: the
// state file on disk is still, inode and bytes, the one this Keeper's last
// update made durable, and that file says so. Any other writer (an
// operator command, a hand edit) replaces the inode or the bytes, and
// Holds is false.
func (k *Keeper) Holds(gw, desired hostabi.State) bool {
	if !k.last.ok {
		return false
	}
	if (gw != hostabi.StateNone && gw != k.last.gateway) || (desired != hostabi.StateNone && desired != k.last.desire) {
		return false
	}
	fi, err := volume.Lstat(k.path)
	if err != nil {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Dev != k.last.dev || st.Ino != k.last.ino || st.Size != int64(len(k.last.data)) {
		return false
	}
	data, err := readFile(k.path)
	return err == nil && bytes.Equal(data, k.last.data)
}

// Close releases what the Keeper holds and removes its unused spares.
func (k *Keeper) Close() {
	k.out.Close()
	if k.lock != nil {
		k.lock.Close()
		k.lock = nil
	}
}

func (k *Keeper) lockTimeout() time.Duration {
	if k.timeout > 0 {
		return k.timeout
	}
	return LockTimeout
}

// acquire takes the state lock on the held lock file while it is still the
// one on disk; otherwise it locks the ordinary way.
func (k *Keeper) acquire() (*Lock, error) {
	lp := k.path + ".lock"
	if k.lock != nil && !sameFile(k.lock, lp) {
		k.lock.Close()
		k.lock = nil
	}
	if k.lock == nil {
		return LockFile(k.path, k.lockTimeout())
	}
	if err := flockWait(k.lock, lp, k.lockTimeout()); err != nil {
		return nil, err
	}
	return &Lock{f: k.lock, held: true}, nil
}

// write replaces the state file with data through a spare (or the
// ordinary way when none is usable), and remembers a durable write.
func (k *Keeper) write(data []byte, durable bool) error {
	dev, ino, identified, err := k.out.Replace(data, durable)
	if err == nil && identified && durable {
		k.last.ok, k.last.data, k.last.dev, k.last.ino = true, append(k.last.data[:0], data...), dev, ino
	}
	return err
}

// removeOrphans removes this state file's temporary files whose writer (the
// pid in their name) is gone.
func (k *Keeper) removeOrphans() { RemoveOrphans(k.path) }

// RemoveOrphans removes the temporary files of path (".<base>.tmp-<pid>-<n>",
// as every atomic write here names them) left by writers that are gone: a
// command or supervisor SIGKILLed mid-write. A writer that still runs
// keeps its file. What meets such a file removes it: boot's sweep, a
// Keeper, an operator command writing path.
func RemoveOrphans(path string) {
	dir, base := filepath.Split(path)
	ents, err := volume.ReadDir(filepath.Clean(dir))
	if err != nil {
		return
	}
	prefix := "." + base + ".tmp-"
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = removeLazy(filepath.Join(dir, e.Name()))
		}
	}
}

// sameFile reports whether the open file f is still the file at path
// (path itself, never a symlink's target).
func sameFile(f *os.File, path string) bool {
	var a syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &a) != nil {
		return false
	}
	fi, err := volume.Lstat(path)
	if err != nil {
		return false
	}
	b := fi.Sys().(*syscall.Stat_t)
	return a.Dev == b.Dev && a.Ino == b.Ino
}
