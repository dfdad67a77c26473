// Package journal is the decision journal: every boot, shutdown and exit
// decision of a profile, appended as one JSON line to
// state/decisions.jsonl with the whole input the policy saw, its answer and
// which module gave it. It answers an operator's "why is my gateway down?"
// (Explain) and feeds "policy replay" and "policy capture".
//
// The journal is a log, never the truth: the state files are. An append is
// made after the decided state is durable, is never fsynced, and a failure
// to append never fails a decision (the caller logs it).
//
// Writing: one write(2) per line on an O_APPEND descriptor, so concurrent
// writers (a gateway's "supervisor run" and an operator's boot) never
// interleave within a line. Past MaxSize the file is rotated to ".1" under
// an flock on the journal itself, so two writers never both rotate. A line
// torn by a crash is skipped by Read with a warning naming the file and the
// line, and the next append starts on a fresh line.
//
// It imports hostabi and the standard library only: the runner and boot
// call it, the command line reads it.
package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// MaxSize is the size past which a journal is rotated to ".1": with ".1",
// at most about twice this much history is kept per profile. A decision's
// line is typically 0.5 to 3 KiB, so a journal holds hundreds to thousands
// of decisions.
const MaxSize = 1 << 20

// maxRead bounds what Read takes of one file: a journal we wrote is at most
// MaxSize plus one line; anything larger is read up to this much.
const maxRead = 4 * MaxSize

// Sources: which program made the decision.
const (
	SourceBoot   = "boot"
	SourceRun    = "run"
	SourceFinish = "finish"
)

// Entry is one journalled decision.
type Entry struct {
	Time     time.Time        `json:"time"` // when the decision was made (the input's now)
	Profile  string           `json:"profile"`
	Kind     hostabi.Kind     `json:"kind"`
	Source   string           `json:"source,omitempty"` // boot, run or finish
	Input    hostabi.Input    `json:"input"`            // everything the policy saw, params included
	Decision hostabi.Decision `json:"decision"`
	Policy   string           `json:"policy"`           // name@digest8 of the module asked
	Digest   string           `json:"digest,omitempty"` // the module's full sha256, when known
	Fallback bool             `json:"fallback"`         // the native fallback decided
	// FallbackReason is why the fallback decided, when it did.
	FallbackReason string `json:"fallback_reason,omitempty"`
	// Outcome is what the mechanism did with the answer, in its own words
	// (boot: started, registered, skipped).
	Outcome string `json:"outcome,omitempty"`
	// Stopper is the pid that wrote the planned-stop marker honoured by a
	// shutdown (an operator's stop or restart); 0 otherwise.
	Stopper int `json:"stopper_pid,omitempty"`
	// MarkerAt is when that marker was written.
	MarkerAt time.Time `json:"marker_at,omitzero"`
	// Refused is why no policy decided at all, when none did: the policy
	// could not be opened and policy.on_error is "fail", so "supervisor
	// run" started no gateway. Decision is then what the supervisor did
	// (stop, startup_failed), not a policy's answer: replay and capture
	// leave such an entry out.
	Refused string `json:"refused,omitempty"`
}

// Errors wrapped by this package; check them with errors.Is.
var (
	// ErrNotRegular: the journal path is a symlink, a FIFO, a directory or a
	// file with several links; it is never written through.
	ErrNotRegular = errors.New("not a regular file")
)

// Append appends e to the journal at path with the default MaxSize.
func Append(path string, e Entry) error { return Writer{Path: path}.Append(e) }

// Writer appends to one journal file.
type Writer struct {
	Path    string
	MaxSize int64 // rotate past this many bytes; 0 = MaxSize
}

func (w Writer) max() int64 {
	if w.MaxSize > 0 {
		return w.MaxSize
	}
	return MaxSize
}

// Encode renders e as its journal line, newline included.
func Encode(e Entry) ([]byte, error) {
	if e.Input.Params == nil {
		e.Input.Params = hostabi.Params{}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("journal: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// Append writes e as one line. The line goes out in a single write(2) on an
// O_APPEND descriptor. When the file has grown past the limit it is rotated
// first, under an exclusive flock on the journal: a writer that finds the
// file already renamed by another simply reopens the new one.
//
// When run as root, a journal (or state directory) it creates is given to
// the owner of the directory above, so that the gateway's supervisor,
// running as the gateway user, can append to a journal boot created.
func (w Writer) Append(e Entry) error {
	line, err := Encode(e)
	if err != nil {
		return err
	}
	dir, err := ensureDir(filepath.Dir(w.Path))
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 4; attempt++ {
		f, st, err := open(w.Path, dir)
		if err != nil {
			return err
		}
		if st.Size < w.max() {
			err := f.writeLine(st.Size, line)
			f.close()
			return err
		}
		done, err := w.rotate(f, dir, line)
		f.close()
		if err != nil || done {
			return err
		}
		// another writer rotated first: append to the new file
	}
	return fmt.Errorf("journal: %s: rotated under us repeatedly", w.Path)
}

// rotate renames the full journal to ".1" and appends line to a fresh one,
// holding an exclusive flock on the old file. done is false when another
// writer rotated it first (the caller reopens).
func (w Writer) rotate(f file, dir owner, line []byte) (done bool, err error) {
	if err := syscall.Flock(f.fd, syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("journal: lock %s: %w", w.Path, err)
	}
	defer syscall.Flock(f.fd, syscall.LOCK_UN)
	var held, cur syscall.Stat_t
	if err := syscall.Fstat(f.fd, &held); err != nil {
		return false, fmt.Errorf("journal: %s: %w", w.Path, err)
	}
	if fi, err := volume.Lstat(w.Path); err != nil {
		return false, nil
	} else if cur = *fi.Sys().(*syscall.Stat_t); cur.Ino != held.Ino || cur.Dev != held.Dev {
		return false, nil
	}
	if err := volume.Rename(w.Path, w.Path+".1"); err != nil {
		return false, fmt.Errorf("journal: rotate %s: %w", w.Path, err)
	}
	nf, st, err := open(w.Path, dir)
	if err != nil {
		return false, err
	}
	defer nf.close()
	return true, nf.writeLine(st.Size, line)
}

// file is an open journal: a bare descriptor, never handed to the runtime
// poller (which refuses regular files, after four system calls of trying).
type file struct {
	fd   int
	name string
}

func (f file) close() { syscall.Close(f.fd) }

// owner is who owns a journal's directory.
type owner struct{ uid, gid uint32 }

// open opens path for appending without following a symlink or blocking on
// a FIFO, creating it if needed, and refuses anything but a regular file
// with one link. dir is the owner of the directory path is in.
func open(path string, dir owner) (file, syscall.Stat_t, error) {
	var st syscall.Stat_t
	d, err := volume.Parent(path)
	if err != nil {
		return file{}, st, fmt.Errorf("journal: open %s: %w", path, err)
	}
	fd, err := d.Open(syscall.O_RDWR|syscall.O_APPEND|syscall.O_CREAT|syscall.O_NONBLOCK, 0o644)
	d.Close()
	if err != nil {
		if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EISDIR) {
			return file{}, st, fmt.Errorf("journal: %s: %w", path, ErrNotRegular)
		}
		return file{}, st, fmt.Errorf("journal: open %s: %w", path, err)
	}
	f := file{fd, path}
	if err := syscall.Fstat(fd, &st); err != nil {
		f.close()
		return file{}, st, fmt.Errorf("journal: %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 {
		f.close()
		return file{}, st, fmt.Errorf("journal: %s: %w", path, ErrNotRegular)
	}
	if st.Uid == 0 && dir.uid != 0 && euid == 0 {
		// Only as root, on a file root owns, with one link: give it to
		// the owner of its directory.
		_ = syscall.Fchown(fd, int(dir.uid), int(dir.gid))
	}
	return f, st, nil
}

// euid is the process's effective uid, read once.
var euid = os.Geteuid()

// writeLine appends line in one write. When the file does not end with a
// newline (a line torn by a crash), the line starts with one, so that the
// torn line stays the only casualty.
func (f file) writeLine(size int64, line []byte) error {
	if size > 0 {
		var last [1]byte
		if n, err := syscall.Pread(f.fd, last[:], size-1); n == 1 && err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	var n int
	var err error
	for {
		n, err = syscall.Write(f.fd, line)
		if err != syscall.EINTR {
			break
		}
	}
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("journal: write %s: %w", f.name, err)
	}
	return nil
}

// ensureDir creates dir (the profile's state directory) when missing; as
// root, it gives it to the owner of its parent, the profile directory. It
// returns who owns dir.
func ensureDir(dir string) (owner, error) {
	if o, err := dirOwner(dir); err == nil || !errors.Is(err, os.ErrNotExist) {
		return o, err
	}
	if err := volume.Mkdir(dir, 0o755); errors.Is(err, os.ErrExist) {
		return dirOwner(dir) // made meanwhile by another writer
	} else if err != nil {
		return owner{}, fmt.Errorf("journal: %w", err)
	}
	o := owner{uint32(euid), 0} // ours (only the uid is looked at)
	if euid == 0 {
		if parent, err := dirOwner(filepath.Dir(dir)); err == nil && parent.uid != 0 &&
			volume.Lchown(dir, int(parent.uid), int(parent.gid)) == nil {
			o = parent
		}
	}
	return o, nil
}

// dirOwner is the owner of the directory dir, which must not be a symlink.
func dirOwner(dir string) (owner, error) {
	fi, err := volume.Lstat(dir)
	if err != nil {
		return owner{}, fmt.Errorf("journal: %s: %w", dir, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return owner{}, fmt.Errorf("journal: %s: %w", dir, ErrNotRegular)
	}
	return owner{st.Uid, st.Gid}, nil
}

// Warning is a line Read skipped: torn by a crash, or not a journal line.
type Warning struct {
	File string
	Line int
	Err  error
}

func (w Warning) Error() string {
	return fmt.Sprintf("journal: %s:%d: skipped: %v", w.File, w.Line, w.Err)
}

// Read returns the entries of the journal at path, oldest first: those of
// the rotated "path.1", then those of path. A missing file is no error. A
// line that cannot be read (torn by a crash, garbled, too long) is skipped
// and reported as a Warning; the error is for a file that exists and
// cannot be read at all.
func Read(path string) ([]Entry, []Warning, error) {
	var out []Entry
	var warns []Warning
	for _, p := range []string{path + ".1", path} {
		es, ws, err := readFile(p)
		if err != nil {
			return nil, nil, err
		}
		out, warns = append(out, es...), append(warns, ws...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, warns, nil
}

func readFile(path string) ([]Entry, []Warning, error) {
	f, err := volume.OpenFile(path, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("journal: %s: %w", path, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRead))
	if err != nil {
		return nil, nil, fmt.Errorf("journal: read %s: %w", path, err)
	}
	var out []Entry
	var warns []Warning
	for n := 1; len(data) > 0; n++ {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !complete {
			warns = append(warns, Warning{path, n, errors.New("torn last line (no newline): a write cut short by a crash")})
			break
		}
		e, err := Decode(line)
		if err != nil {
			warns = append(warns, Warning{path, n, err})
			continue
		}
		out = append(out, e)
	}
	return out, warns, nil
}

// Decode reads one journal line.
func Decode(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("not a journal entry: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("not a journal entry: trailing data")
	}
	if e.Kind < hostabi.KindBoot || e.Kind > hostabi.KindExit || e.Input.Kind != e.Kind {
		return Entry{}, fmt.Errorf("not a journal entry: kind %q", e.Kind.String())
	}
	if e.Profile == "" || e.Time.IsZero() {
		return Entry{}, errors.New("not a journal entry: no profile or time")
	}
	return e, nil
}

// Last returns the last n entries (all when n <= 0).
func Last(es []Entry, n int) []Entry {
	if n <= 0 || n >= len(es) {
		return es
	}
	return es[len(es)-n:]
}
