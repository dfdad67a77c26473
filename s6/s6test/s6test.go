// Package s6test runs a real s6-svscan on a temporary scan directory for
// tests, and stops it (with every service under it) when the test ends.
//
// It is for tests only and must not be imported by non-test code.
package s6test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	s := &Scanner{Dir: dir, out: &Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command("s6-svscan", dir)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Services inherit s6-svscan's output: one that outlives it must not
	// keep Wait (and the test) waiting for the pipe forever.
	s.cmd.WaitDelay = 2 * time.Second
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

// Stop shuts s6-svscan down (s6-svscanctl -t) and waits for it and every
// service under it. After 20 seconds it fails the test, naming what is still
// running, and kills it: s6-svscan's process group and every process whose
// working directory is in the scan directory (s6-supervise and the services
// it started, each in its own session).
func (s *Scanner) Stop(t testing.TB) {
	select {
	case <-s.done:
		return
	default:
	}
	told := s.terminate()
	select {
	case <-s.done:
		return
	case <-time.After(10 * time.Second):
		told += "; again after 10s: " + s.terminate() // in case the first was lost
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		left := s.leftovers()
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		for pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-s.done
		var names []string
		for pid, what := range left {
			names = append(names, fmt.Sprintf("  %d %s", pid, what))
		}
		sort.Strings(names)
		t.Errorf("s6-svscan on %s did not stop within 20s (%s); killed it and what ran under it:\n%s\n%s", s.Dir, told, strings.Join(names, "\n"), s.out.String())
	}
}

// terminate asks s6-svscan for a clean shutdown (s6-svscanctl -t), a few
// times if the command fails, and says how it went.
func (s *Scanner) terminate() string {
	var out []byte
	var err error
	for range 5 {
		if out, err = exec.Command("s6-svscanctl", "-t", s.Dir).CombinedOutput(); err == nil {
			return "told with s6-svscanctl -t"
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Sprintf("s6-svscanctl -t failed: %v: %s", err, strings.TrimSpace(string(out)))
}

// leftovers lists the processes whose working directory is in the scan
// directory, with their command lines.
func (s *Scanner) leftovers() map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || (cwd != s.Dir && !strings.HasPrefix(cwd, s.Dir+"/")) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")) + " (in " + cwd + ")"
	}
	return out
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
