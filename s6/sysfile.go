package s6

import (
	"errors"
	"syscall"
)

// Raw file operations relative to an open directory. Publishing a slot is
// a dozen small file operations; going through os.File would add, for each
// file, the fcntl and epoll_ctl calls of registering a descriptor with the
// poller (which refuses regular files anyway), and every path-based call
// would walk the whole path again. Descriptors here are never handed to
// anything else and are closed before returning.

// openDirAt opens the directory name under dirfd without following a
// symlink in its last component.
func openDirAt(dirfd int, name string) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// createAt creates name under dirfd, which must not exist yet (never
// following a symlink), writes content and gives it mode, whatever the
// umask.
func createAt(dirfd int, name, content string, mode uint32) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Openat(dirfd, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NOCTTY, mode)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return err
	}
	err = writeAll(fd, content)
	if err == nil && mode&uint32(umask) != 0 {
		err = syscall.Fchmod(fd, mode) // the mode given to open was masked by the umask
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	return err
}

func writeAll(fd int, s string) error {
	b := []byte(s)
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return syscall.EIO
		}
		b = b[n:]
	}
	return nil
}

// mkdirAt creates name under dirfd; an existing entry is no error when
// exist is true.
func mkdirAt(dirfd int, name string, mode uint32, exist bool) error {
	err := syscall.Mkdirat(dirfd, name, mode)
	if exist && errors.Is(err, syscall.EEXIST) {
		return nil
	}
	return err
}

// Linux's *at() flags and special descriptor, the same on every
// architecture (package syscall does not export them all).
const (
	atFDCWD           = -0x64
	atSymlinkNofollow = 0x100
)

func isDir(st *syscall.Stat_t) bool { return st.Mode&syscall.S_IFMT == syscall.S_IFDIR }
