package s6

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Slot describes one s6 service directory. Render turns it into files;
// Publish puts it into a scan directory.
type Slot struct {
	// Name is the directory name in the scan directory ("gateway-coder").
	// It must not start with a dot (s6-svscan ignores those) nor hold '/'.
	Name string
	// Run is the argument vector the run script execs; Run[0] should be an
	// absolute path, since s6-supervise runs with s6-svscan's environment.
	Run []string
	// Finish is the argument vector the finish script execs, followed by
	// the exit code and signal s6 passes it ("$1" "$2"); nil = no finish.
	Finish []string
	// User is who run, finish and the logger become when the scripts start
	// as root; "" = never drop privileges. With Owner set (the slot is
	// published by root, for root's s6), the scripts drop to Owner's ids
	// with s6-applyuidgid, resolved when rendered; without, they look the
	// user up with s6-setuidgid when they find themselves root.
	User string
	// NotificationFD is the readiness file descriptor written to
	// notification-fd; 0 = the service does not notify readiness.
	NotificationFD int
	// LogDir is where s6-log writes the service's output; "" = no logger.
	// The caller creates it (and gives it to the user s6-log runs as)
	// before publishing: Publish never creates or gives away a directory
	// by path.
	LogDir string
	// Down writes the down file: s6 registers the slot without starting it.
	Down bool
	// Verdict gives the slot its VerdictFile and a finish script that
	// follows the verdict found there for the exit s6 reports, without
	// starting anything, and runs Finish only when there is none (run
	// died before its verdict).
	Verdict bool
	// TimeoutKill bounds a service that ignores SIGTERM: s6-supervise sends
	// SIGKILL this long after the down signal. 0 = never (s6's default).
	TimeoutKill time.Duration
	// Owner, when set, owns supervise/control and event/, so that this
	// user may run s6-svc, s6-svstat and s6-svwait on the slot: exactly
	// what s6's access model needs. supervise/ itself stays the caller's
	// (root's): s6-supervise writes its status there (through status.new),
	// and a user who could plant a symlink in it would make root's
	// s6-supervise overwrite any file. Only root can give files away;
	// nil = the caller.
	Owner *Owner
}

// Owner is a numeric user, its primary group and its supplementary groups.
type Owner struct {
	UID, GID int
	Groups   []int // supplementary groups; nil = the primary group only
}

// VerdictFile is the file of a slot (when Slot.Verdict is set) through
// which its run hands its verdict to its finish script: one line, "RUN_EXIT
// FINISH_CODE". It is created empty and given to the slot's Owner.
const VerdictFile = "verdict"

// File is one rendered regular file of a slot, relative to the slot directory.
type File struct {
	Path    string
	Mode    os.FileMode
	Content string
}

// ValidateName checks a slot directory name.
func ValidateName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("s6: slot name %q is empty or a dot entry", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("s6: slot name %q starts with a dot, which s6-svscan ignores", name)
	case strings.ContainsAny(name, "/\x00\n"):
		return fmt.Errorf("s6: slot name %q holds '/', a NUL or a newline", name)
	case len(name) > 255:
		return fmt.Errorf("s6: slot name is %d bytes, more than 255", len(name))
	}
	return nil
}

// Programs are the absolute paths of the s6 programs a slot's scripts
// exec: s6-applyuidgid (User with Owner), s6-setuidgid (User without
// Owner), s6-log (LogDir).
type Programs struct {
	ApplyUIDGID, SetUIDGID, Log string
}

// Render returns the regular files of s, whose scripts exec the programs
// of p.
func Render(s Slot, p Programs) ([]File, error) {
	if err := ValidateName(s.Name); err != nil {
		return nil, err
	}
	if len(s.Run) == 0 || s.Run[0] == "" {
		return nil, fmt.Errorf("s6: slot %s: empty run command", s.Name)
	}
	if s.NotificationFD < 0 || s.NotificationFD == 1 || s.NotificationFD == 2 || s.NotificationFD > 255 {
		return nil, fmt.Errorf("s6: slot %s: notification fd %d must be 0 (none) or 3..255", s.Name, s.NotificationFD)
	}
	if s.TimeoutKill < 0 {
		return nil, fmt.Errorf("s6: slot %s: timeout-kill %s is negative", s.Name, s.TimeoutKill)
	}
	if s.User != "" && strings.ContainsAny(s.User, ":/ \t\n\x00") {
		return nil, fmt.Errorf("s6: slot %s: user %q is not a user name", s.Name, s.User)
	}
	header := "#!/bin/sh\n# s6 slot " + s.Name + ", written by hermes-supervisor: boot rewrites it, do not edit.\n"
	files := []File{
		{"type", 0o644, "longrun\n"},
		{"run", 0o755, header + "exec 2>&1\n" + execLine(s.Run, s, p, "")},
	}
	if s.Finish != nil {
		if len(s.Finish) == 0 || s.Finish[0] == "" {
			return nil, fmt.Errorf("s6: slot %s: empty finish command", s.Name)
		}
		body := execLine(s.Finish, s, p, ` "$1" "$2"`)
		if s.Verdict {
			body = finishFastPath + body
		}
		files = append(files, File{"finish", 0o755, header + body})
	}
	if s.NotificationFD > 0 {
		files = append(files, File{"notification-fd", 0o644, strconv.Itoa(s.NotificationFD) + "\n"})
	}
	if s.TimeoutKill > 0 {
		ms := (s.TimeoutKill + time.Millisecond - 1) / time.Millisecond
		files = append(files, File{"timeout-kill", 0o644, strconv.FormatInt(int64(ms), 10) + "\n"})
	}
	if s.Down {
		files = append(files, File{"down", 0o644, ""})
	}
	if s.LogDir != "" {
		if !filepath.IsAbs(s.LogDir) {
			return nil, fmt.Errorf("s6: slot %s: log directory %q is not absolute", s.Name, s.LogDir)
		}
		// n10: keep ten archives; s1048576: rotate at 1 MiB; T: ISO 8601 timestamps.
		logArgs := []string{p.Log, "-b", "--", "n10", "s1048576", "T", s.LogDir}
		files = append(files, File{"log/type", 0o644, "longrun\n"},
			File{"log/run", 0o755, header + "exec 2>&1\n" + execLine(logArgs, s, p, "")})
	}
	return files, nil
}

// finishFastPath starts a finish script with a Verdict: when run handed
// its verdict for the very exit s6 reports (run's exit code, not killed by
// a signal), the script follows it with its shell's own read and exit,
// starting no program at all; the file is emptied, so a verdict serves one
// finish. Only 0 and 125 are taken from the file (it is the gateway
// user's); anything else goes to the finish program.
const finishFastPath = `if [ "$2" = 0 ] && read -r code plan 2>/dev/null <` + VerdictFile + `; then
  : >` + VerdictFile + `
  if [ "$code" = "$1" ]; then
    case $plan in 0|125) exit "$plan" ;; esac
  fi
fi
`

// execLine renders the exec of argv for slot s: behind s6-applyuidgid with
// the owner's ids when the slot has an owner and a user, behind
// s6-setuidgid when it has a user and the script finds itself root, plain
// otherwise.
func execLine(argv []string, s Slot, p Programs, tail string) string {
	plain := "exec " + shellJoin(argv) + tail + "\n"
	switch {
	case s.User == "":
		return plain
	case s.Owner != nil:
		groups := s.Owner.Groups
		if len(groups) == 0 {
			groups = []int{s.Owner.GID}
		}
		gs := make([]string, len(groups))
		for i, g := range groups {
			gs[i] = strconv.Itoa(g)
		}
		drop := []string{p.ApplyUIDGID, "-u", strconv.Itoa(s.Owner.UID), "-g", strconv.Itoa(s.Owner.GID), "-G", strings.Join(gs, ",")}
		return "exec " + shellJoin(append(drop, argv...)) + tail + "\n"
	}
	return "if [ \"$(id -u)\" = 0 ]; then\n  exec " + shellJoin(append([]string{p.SetUIDGID, s.User}, argv...)) + tail + "\nfi\n" + plain
}

// shellJoin quotes each word for /bin/sh.
func shellJoin(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && shellSafe(a) {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

// shellSafe reports whether a holds only bytes /bin/sh takes literally
// outside quotes.
func shellSafe(a string) bool {
	for i := 0; i < len(a); i++ {
		if !shellSafeByte[a[i]] {
			return false
		}
	}
	return true
}

var shellSafeByte = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") {
		t[c] = true
	}
	return t
}()

// Publish renders s and puts it into scandir. A new slot is built in a
// dot-prefixed sibling (which s6-svscan ignores) and renamed into place, so
// s6-svscan never sees half a slot. An existing slot is updated file by
// file, each renamed into place, keeping its supervise/ directory: a
// running s6-supervise goes on undisturbed and reads the new scripts the
// next time it starts the service. Publish does not tell s6-svscan; call
// Rescan. To publish many slots, OpenScandir once and publish through it.
func (t *Tools) Publish(scandir string, s Slot) error {
	files, err := t.render(s)
	if err != nil {
		return err
	}
	d, err := t.OpenScandir(scandir)
	if err != nil {
		return err
	}
	defer d.Close()
	_, err = d.publish(s, files)
	return err
}

// Scandir is a scan directory held open, so that publishing many slots
// walks its path once. Safe for concurrent use; Close it when done.
type Scandir struct {
	t    *Tools
	path string
	fd   int
}

// OpenScandir opens the scan directory path (which must exist) for
// publishing.
func (t *Tools) OpenScandir(path string) (*Scandir, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if errors.Is(err, syscall.ENOTDIR) {
		if fi, serr := os.Stat(path); serr == nil && !fi.IsDir() {
			return nil, fmt.Errorf("s6: scan directory %s is not a directory", path)
		}
	}
	if err != nil {
		return nil, pathError("stat scan directory", path, err)
	}
	return &Scandir{t: t, path: path, fd: fd}, nil
}

// Close releases the scan directory.
func (d *Scandir) Close() error { return syscall.Close(d.fd) }

// Publish is Tools.Publish into d. existed reports that the slot was
// already in the scan directory (it was updated in place).
func (d *Scandir) Publish(s Slot) (existed bool, err error) {
	files, err := d.t.render(s)
	if err != nil {
		return false, err
	}
	return d.publish(s, files)
}

// render renders s, looking up the s6 programs it needs.
func (t *Tools) render(s Slot) ([]File, error) {
	var p Programs
	var err error
	if s.User != "" && s.Owner != nil {
		if p.ApplyUIDGID, err = t.Path("s6-applyuidgid"); err != nil {
			return nil, err
		}
	} else if s.User != "" {
		if p.SetUIDGID, err = t.Path("s6-setuidgid"); err != nil {
			return nil, err
		}
	}
	if s.LogDir != "" {
		if p.Log, err = t.Path("s6-log"); err != nil {
			return nil, err
		}
	}
	return Render(s, p)
}

func (d *Scandir) publish(s Slot, files []File) (existed bool, err error) {
	final := filepath.Join(d.path, s.Name)
	tmpName := "." + s.Name + ".new-" + randomSuffix()
	tmp := filepath.Join(d.path, tmpName)
	if err := mkdirAt(d.fd, tmpName, 0o755, false); err != nil {
		return false, pathError("create", tmp, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.RemoveAll(tmp)
		}
	}()
	tfd, err := openDirAt(d.fd, tmpName)
	if err != nil {
		return false, pathError("open", tmp, err)
	}
	defer syscall.Close(tfd)
	if err := writeFiles(tfd, tmp, files); err != nil {
		return false, err
	}
	if err := prepareSupervise(tfd, tmp, s); err != nil {
		return false, err
	}
	var st syscall.Stat_t
	switch err := syscall.Lstat(final, &st); {
	case errors.Is(err, syscall.ENOENT):
		if err := syscall.Renameat(d.fd, tmpName, d.fd, s.Name); err != nil {
			return false, pathError("publish", final, err)
		}
		renamed = true
		_ = syscall.Fsync(d.fd) // tmpfs and some file systems refuse fsync on a directory
		return false, nil
	case err != nil:
		return false, pathError("stat", final, err)
	case !isDir(&st):
		return false, fmt.Errorf("s6: %s exists and is not a slot directory; remove it", final)
	}
	return true, updateInPlace(tmp, final, files, s)
}

// updateInPlace moves the freshly rendered files of tmp into the existing
// slot final, one rename each, and removes files the new slot lacks.
func updateInPlace(tmp, final string, files []File, s Slot) error {
	if s.LogDir != "" {
		if err := os.MkdirAll(filepath.Join(final, "log"), 0o755); err != nil {
			return pathError("create", filepath.Join(final, "log"), err)
		}
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f.Path] = true
		if err := os.Rename(filepath.Join(tmp, f.Path), filepath.Join(final, f.Path)); err != nil {
			return pathError("update", filepath.Join(final, f.Path), err)
		}
	}
	for _, p := range []string{"finish", "notification-fd", "timeout-kill", "down"} {
		if !have[p] {
			if err := os.Remove(filepath.Join(final, p)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return pathError("remove", filepath.Join(final, p), err)
			}
		}
	}
	// s6 keeps what exists: make sure what exists is usable by the owner.
	ffd, err := openDirAt(atFDCWD, final)
	if err != nil {
		return pathError("open", final, err)
	}
	defer syscall.Close(ffd)
	if err := prepareSupervise(ffd, final, s); err != nil {
		return err
	}
	_ = syscall.Fsync(ffd) // tmpfs and some file systems refuse fsync on a directory
	return nil
}

// writeFiles creates files in the new slot directory dirfd (at dir, named
// in errors), with the directories their paths name.
func writeFiles(dirfd int, dir string, files []File) error {
	made := map[string]bool{}
	for _, f := range files {
		for i := 0; i < len(f.Path); i++ {
			if f.Path[i] != '/' || made[f.Path[:i]] {
				continue
			}
			if err := mkdirAt(dirfd, f.Path[:i], 0o755, true); err != nil {
				return pathError("create", filepath.Join(dir, f.Path[:i]), err)
			}
			made[f.Path[:i]] = true
		}
		if err := createAt(dirfd, f.Path, f.Content, uint32(f.Mode.Perm())); err != nil {
			return pathError("write", filepath.Join(dir, f.Path), err)
		}
	}
	return nil
}

// Modes s6-supervise (2.11) gives what it creates, loosened where an
// unprivileged owner must reach in: supervise/ is the caller's and
// traversable by all (so s6-svstat can read status and lock), control is
// the owner's to write, event/ is the owner's fifodir that s6-svwait and
// s6-svc -w subscribe in (setgid, sticky, group-writable, as s6's own
// ftrigw_fifodir_make makes it).
const (
	superviseMode = 0o755
	controlMode   = 0o600
	eventMode     = syscall.S_ISGID | syscall.S_ISVTX | 0o730
)

// prepareSupervise creates supervise/, supervise/control and event/ (and
// the verdict file, for a slot with a Verdict) in the slot directory dirfd
// (at dir, named in errors) when missing, keeps supervise/ the caller's,
// and gives control, event/ and the verdict file to the slot's owner.
func prepareSupervise(dirfd int, dir string, s Slot) error {
	owner := s.Owner
	if s.Verdict {
		if err := prepareVerdict(dirfd, dir, owner); err != nil {
			return err
		}
	}
	if err := mkdirAt(dirfd, "supervise", superviseMode, true); err != nil {
		return pathError("create", filepath.Join(dir, "supervise"), err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, "supervise", &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return pathError("stat", filepath.Join(dir, "supervise"), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("s6: %s is not a directory; remove it", filepath.Join(dir, "supervise"))
	}
	if euid := os.Geteuid(); int(st.Uid) != euid && euid == 0 {
		// Given away by an older version: take it back.
		if err := syscall.Fchownat(dirfd, "supervise", 0, 0, atSymlinkNofollow); err != nil {
			return pathError("take back", filepath.Join(dir, "supervise"), err)
		}
	}
	if err := syscall.Mknodat(dirfd, "supervise/control", syscall.S_IFIFO|controlMode, 0); err != nil && !errors.Is(err, syscall.EEXIST) {
		return pathError("create FIFO", filepath.Join(dir, "supervise/control"), err)
	}
	if err := mkdirAt(dirfd, "event", 0o700, true); err != nil {
		return pathError("create", filepath.Join(dir, "event"), err)
	}
	if owner != nil {
		for _, p := range []string{"supervise/control", "event"} {
			if err := syscall.Fchownat(dirfd, p, owner.UID, owner.GID, atSymlinkNofollow); err != nil {
				return pathError("give to uid "+strconv.Itoa(owner.UID), filepath.Join(dir, p), err)
			}
		}
	}
	if superviseMode&umask != 0 {
		if err := syscall.Fchmodat(dirfd, "supervise", superviseMode, 0); err != nil {
			return pathError("chmod", filepath.Join(dir, "supervise"), err)
		}
	}
	if err := syscall.Fchmodat(dirfd, "event", eventMode, 0); err != nil { // after chown, which may clear setgid
		return pathError("chmod", filepath.Join(dir, "event"), err)
	}
	return nil
}

// prepareVerdict makes the slot's verdict file a regular, empty-or-kept
// file given to owner: anything else found under its name is replaced.
func prepareVerdict(dirfd int, dir string, owner *Owner) error {
	path := filepath.Join(dir, VerdictFile)
	var st unix.Stat_t
	switch err := unix.Fstatat(dirfd, VerdictFile, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG:
	case err == nil:
		if err := unix.Unlinkat(dirfd, VerdictFile, 0); err != nil {
			return pathError("replace", path, err)
		}
		fallthrough
	case errors.Is(err, unix.ENOENT):
		if err := createAt(dirfd, VerdictFile, "", 0o644); err != nil && !errors.Is(err, syscall.EEXIST) {
			return pathError("create", path, err)
		}
	default:
		return pathError("stat", path, err)
	}
	if owner != nil {
		if err := syscall.Fchownat(dirfd, VerdictFile, owner.UID, owner.GID, atSymlinkNofollow); err != nil {
			return pathError("give to uid "+strconv.Itoa(owner.UID), path, err)
		}
	}
	return nil
}

// umask is the process's file mode creation mask, read once at start.
var umask = func() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}()

// Remove deletes the slot name from scandir. It renames the slot to a dot
// entry first, so s6-svscan forgets it at its next scan, then removes it.
// Stop the service and Rescan before calling Remove.
func Remove(scandir, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	final := filepath.Join(scandir, name)
	gone := filepath.Join(scandir, "."+name+".old-"+randomSuffix())
	if err := os.Rename(final, gone); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return pathError("remove", final, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return pathError("remove", gone, err)
	}
	return nil
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pathError wraps a file-system error, naming the path and, on a
// permission error, what to do.
func pathError(op, path string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("s6: %w on %s: %s needs root or write access to it", ErrPermission, path, op)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return fmt.Errorf("s6: %s %s: %w", op, path, err)
}
