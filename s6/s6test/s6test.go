// Package s6test runs a real s6-svscan on a temporary scan directory for
// tests, and stops it (with every service under it) when the test ends.
//
// It is for tests only and must not be imported by non-test code.
package s6test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Scanner is a running s6-svscan.
type Scanner struct {
	Dir  string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
}

// Require fails the test, saying how to install s6, when it is missing.
func Require(t testing.TB) {
	t.Helper()
	for _, p := range []string{"s6-svscan", "s6-svc", "s6-svstat", "s6-svscanctl", "s6-svwait", "s6-log", "s6-setuidgid", "execlineb"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found: these tests need real s6; install it: apt-get install -y s6 execline", p)
		}
	}
}

// Start runs s6-svscan on dir (created when missing) until the test ends.
func Start(t testing.TB, dir string) *Scanner {
	t.Helper()
	Require(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Scanner{Dir: dir, out: &Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command("s6-svscan", dir)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start s6-svscan: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.Stop(t) })
	// s6-svscan is listening once its control FIFO has a reader.
	ctl := filepath.Join(dir, ".s6-svscan", "control")
	for i := 0; ; i++ {
		fd, err := syscall.Open(ctl, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			syscall.Close(fd)
			return s
		}
		if i > 1000 {
			t.Fatalf("s6-svscan on %s never listened: %v\n%s", dir, err, s.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stop shuts s6-svscan down (s6-svscanctl -t) and waits for it; after 20
// seconds it kills the whole process group.
func (s *Scanner) Stop(t testing.TB) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = exec.Command("s6-svscanctl", "-t", s.Dir).Run()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		t.Errorf("s6-svscan on %s did not stop within 20s; killed\n%s", s.Dir, s.out.String())
	}
}

// Done is closed when s6-svscan has exited.
func (s *Scanner) Done() <-chan struct{} { return s.done }

// Output is what s6-svscan and its services wrote so far.
func (s *Scanner) Output() string { return s.out.String() }

// Buffer is a bytes.Buffer safe for one writer and concurrent readers:
// what a background process or goroutine logs, read by a test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// OpenUp makes dir and every parent traversable by everyone, so that an
// unprivileged user can reach a t.TempDir.
func OpenUp(t testing.TB, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o011 != 0o011 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
}
