package boot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// MaxLogSize is the size past which container-boot.log is rotated to .1.
const MaxLogSize = 256 << 10

// AppendLog appends lines to the boot log at path (on the volume), rotating
// it to path.1 first when it has grown past MaxLogSize. The log's directory
// is created when missing and given to owner (the volume's owner; nil:
// the caller).
//
// Boot runs as root and the log is on the gateway user's volume: it is
// never written through a symlink (in any component), nor through a
// second hard link. An entry at path that is not a regular file with one
// link (a symlink planted to make root append to another file, a FIFO) is
// moved aside to path.refused-<unix time> and a fresh log started; the
// returned warning names it. A boot is never stopped by what the gateway
// user put there.
func AppendLog(path string, lines []byte, owner *volume.Owner, now time.Time) (warning, err error) {
	if err := volume.MkdirAll(filepath.Dir(path), 0o755, owner); err != nil {
		return nil, fmt.Errorf("boot: create %s: %w", filepath.Dir(path), err)
	}
	if fi, err := volume.Lstat(path); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case !fi.Mode().IsRegular() || st.Nlink != 1:
			aside := path + ".refused-" + strconv.FormatInt(now.Unix(), 10)
			if err := volume.Rename(path, aside); err != nil {
				return nil, fmt.Errorf("boot: %s is not a regular file with one link, and moving it aside failed: %w", path, err)
			}
			what := volume.Kind(fi.Mode())
			if fi.Mode().IsRegular() {
				what = fmt.Sprintf("file with %d links", st.Nlink)
			}
			warning = fmt.Errorf("boot: %s was a %s, not the boot log: moved aside to %s; a fresh log was started", path, what, filepath.Base(aside))
		case fi.Size() >= MaxLogSize:
			if err := volume.Rename(path, path+".1"); err != nil {
				return nil, fmt.Errorf("boot: rotate %s: %w", path, err)
			}
		}
	}
	f, err := volume.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		if errors.Is(err, volume.ErrLinks) || errors.Is(err, syscall.ELOOP) {
			return warning, fmt.Errorf("boot: %s changed under boot (a link planted meanwhile): %w", path, err)
		}
		return warning, fmt.Errorf("boot: open %s: %w", path, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return warning, fmt.Errorf("boot: %s is not a regular file", path)
	}
	if _, err := f.Write(lines); err != nil {
		f.Close()
		return warning, fmt.Errorf("boot: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return warning, fmt.Errorf("boot: sync %s: %w", path, err)
	}
	return warning, f.Close()
}
