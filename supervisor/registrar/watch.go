package registrar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// watcher turns inotify events that may change the set of profiles into
// a signal on events: profiles/ appearing in the home, entries appearing
// or vanishing in profiles/, and a profile's marker file (profile.toml,
// SOUL.md) appearing or vanishing in a profile directory. It does not
// follow symlinks.
type watcher struct {
	home   string
	fd     int // the inotify descriptor; never f.Fd(), which makes f blocking
	f      *os.File
	events chan struct{}

	mu    sync.Mutex
	wds   map[int32]string // watch descriptor -> directory
	home0 int32            // the home's watch
	prof  int32            // profiles/'s watch; -1 when none
	fail  error
}

const (
	// What changes a directory's entries.
	entryEvents = syscall.IN_CREATE | syscall.IN_DELETE | syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM
	watchFlags  = entryEvents | syscall.IN_ONLYDIR | syscall.IN_DONT_FOLLOW | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF
)

func newWatcher(home string) (*watcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// Non-blocking, so the runtime poller serves Read and Close ends it.
	w := &watcher{home: home, fd: fd, f: os.NewFile(uintptr(fd), "inotify"), events: make(chan struct{}, 1), wds: map[int32]string{}, prof: -1}
	wd, err := syscall.InotifyAddWatch(fd, home, watchFlags)
	if err != nil {
		w.f.Close()
		return nil, fmt.Errorf("inotify: watch %s: %w", home, err)
	}
	w.home0 = int32(wd)
	w.wds[w.home0] = home
	go w.read()
	return w, nil
}

// sync adds watches on profiles/ and on every directory in it (adding an
// existing watch is harmless; the kernel drops the watch of a removed
// directory by itself).
func (w *watcher) sync() error {
	dir := filepath.Join(w.home, "profiles")
	wd, err := w.add(dir)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.prof = wd
	w.mu.Unlock()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range ents {
		if !e.IsDir() || len(e.Name()) == 0 || e.Name()[0] == '.' {
			continue
		}
		if _, err := w.add(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTDIR) {
			return err
		}
	}
	return nil
}

func (w *watcher) add(dir string) (int32, error) {
	wd, err := syscall.InotifyAddWatch(w.fd, dir, watchFlags)
	if err != nil {
		return -1, fmt.Errorf("inotify: watch %s: %w", dir, err)
	}
	w.mu.Lock()
	w.wds[int32(wd)] = dir
	w.mu.Unlock()
	return int32(wd), nil
}

// read decodes events until the file is closed, signalling the relevant ones.
func (w *watcher) read() {
	defer close(w.events)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			w.mu.Lock()
			if !errors.Is(err, os.ErrClosed) {
				w.fail = err
			}
			w.mu.Unlock()
			return
		}
		if w.relevant(buf[:n]) {
			select {
			case w.events <- struct{}{}:
			default: // a pass is pending already
			}
		}
	}
}

// relevant reports whether a batch of events may change the profiles.
func (w *watcher) relevant(b []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	any := false
	for len(b) >= syscall.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(b[0:4]))
		mask := binary.NativeEndian.Uint32(b[4:8])
		size := int(binary.NativeEndian.Uint32(b[12:16]))
		if syscall.SizeofInotifyEvent+size > len(b) {
			return true // truncated: play safe
		}
		name := string(bytes.TrimRight(b[syscall.SizeofInotifyEvent:syscall.SizeofInotifyEvent+size], "\x00"))
		b = b[syscall.SizeofInotifyEvent+size:]
		switch {
		case mask&syscall.IN_Q_OVERFLOW != 0:
			any = true
		case mask&syscall.IN_IGNORED != 0:
			delete(w.wds, wd)
			if wd == w.prof {
				w.prof = -1
				any = true
			}
		case wd == w.home0:
			any = any || name == "profiles"
		case wd == w.prof:
			any = true
		default: // a profile directory
			any = any || name == "profile.toml" || name == "SOUL.md" || mask&(syscall.IN_DELETE_SELF|syscall.IN_MOVE_SELF) != 0
		}
	}
	return any
}

func (w *watcher) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fail
}

func (w *watcher) close() { w.f.Close() }
