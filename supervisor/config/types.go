package config

import (
	"fmt"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Duration is a time.Duration written as "10s" in TOML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf(`want a duration like "10s" or "100ms", found %s`, quote(string(b)))
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ByteSize is a size written as "16MiB" in TOML (B, KiB, MiB, GiB; or a plain integer).
type ByteSize uint64

var units = []struct {
	suffix string
	mult   uint64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ByteSize) UnmarshalText(b []byte) error {
	str := strings.TrimSpace(string(b))
	mult := uint64(1)
	for _, u := range units {
		if strings.HasSuffix(str, u.suffix) {
			str, mult = strings.TrimSpace(strings.TrimSuffix(str, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(str, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return fmt.Errorf(`want a size like "16MiB" (a whole number with B, KiB, MiB or GiB), found %s`, quote(string(b)))
	}
	*s = ByteSize(n * mult)
	return nil
}

// UnmarshalTOML accepts a plain integer (bytes) as well as a string.
func (s *ByteSize) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("want a size of 0 bytes or more, found %d", x)
		}
		*s = ByteSize(x)
		return nil
	case string:
		return s.UnmarshalText([]byte(x))
	}
	return fmt.Errorf(`want a size like "16MiB" or a whole number of bytes, found %s`, found(v))
}

// MarshalText implements encoding.TextMarshaler.
func (s ByteSize) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s ByteSize) String() string {
	for _, u := range units {
		if uint64(s) >= u.mult && uint64(s)%u.mult == 0 {
			return strconv.FormatUint(uint64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatUint(uint64(s), 10) + "B"
}

const maxConfigSize = 1 << 20

// readProfileFile reads a profile.toml: a file of the gateway user's
// volume, read like every other there (package volume: never through a
// symlink or a second hard link, a FIFO refused, at most maxConfigSize
// bytes), so that root never reads, and quotes in an error, a file the
// gateway user could not.
func readProfileFile(path string) ([]byte, error) {
	return volume.ReadFile(path, maxConfigSize)
}

// readFile reads the configuration file at path (a symlink is followed: a
// mounted ConfigMap is one) with one open, fstat and read: boot reads a
// profile.toml per profile. A FIFO is refused rather than waited on. A
// missing file is an *os.PathError wrapping os.ErrNotExist.
func readFile(path string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fmt.Errorf("not a regular file")
	}
	if st.Size > maxConfigSize {
		return nil, fmt.Errorf("%d bytes, more than %d", st.Size, maxConfigSize)
	}
	data := make([]byte, 0, st.Size+1)
	for len(data) <= maxConfigSize {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR || err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // grow: the file grew since fstat
		}
	}
	return nil, fmt.Errorf("more than %d bytes", maxConfigSize)
}
