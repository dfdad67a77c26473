package s6

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Command is what Control asks of a slot.
type Command int

const (
	// Up: want the service up (s6-svc -u) and wait until it is up and, when
	// it notifies readiness, ready (-wU).
	Up Command = iota
	// Down: want it down (s6-svc -d) and wait until it is down and its
	// finish script has run (-wD).
	Down
	// Restart: kill it so s6 starts it again (s6-svc -r) and wait until it
	// is up and ready again (-wR). The service must be wanted up.
	Restart
)

func (c Command) String() string {
	switch c {
	case Up:
		return "up"
	case Down:
		return "down"
	case Restart:
		return "restart"
	}
	return "command(" + strconv.Itoa(int(c)) + ")"
}

// Control sends c to the slot dir and waits for its effect, at most
// timeout (0 = do not wait). A timeout comes back as ErrTimeout: the
// command was sent and s6 keeps working on it.
func (t *Tools) Control(ctx context.Context, dir string, c Command, timeout time.Duration) error {
	if err := checkSlot(dir); err != nil {
		return err
	}
	var flag, wait string
	switch c {
	case Up:
		flag, wait = "-u", "-wU"
	case Down:
		flag, wait = "-d", "-wD"
	case Restart:
		flag, wait = "-r", "-wR"
	default:
		return fmt.Errorf("s6: unknown command %d", int(c))
	}
	if err := waitStatusFile(ctx, dir); err != nil {
		return err
	}
	args := []string{flag, dir}
	if timeout > 0 {
		args = []string{wait, "-T", millis(timeout), flag, dir}
	}
	_, err := t.run(ctx, dir, "s6-svc", args...)
	if errors.Is(err, ErrTimeout) {
		goal := map[Command]string{Up: "up and ready", Down: "down", Restart: "restarted and ready"}[c]
		return fmt.Errorf("s6: %s is not %s after %s (s6-svc %s %s; s6 keeps working on it): %w", dir, goal, timeout, wait, flag, ErrTimeout)
	}
	return err
}

// Wait blocks until the slot reaches event, at most timeout: 'u' up, 'U'
// up and ready, 'd' down, 'D' down and finished (s6-svwait -u/-U/-d/-D).
func (t *Tools) Wait(ctx context.Context, dir string, event byte, timeout time.Duration) error {
	switch event {
	case 'u', 'U', 'd', 'D':
	default:
		return fmt.Errorf("s6: wait for %q: want one of u, U, d, D", event)
	}
	if err := checkSlot(dir); err != nil {
		return err
	}
	// A slot just published is not supervised until s6-svscan's next scan:
	// s6-svwait would fail at once on the missing status file.
	if err := waitStatusFile(ctx, dir); err != nil {
		return err
	}
	_, err := t.run(ctx, dir, "s6-svwait", "-"+string(event), "-t", millis(timeout), dir)
	if errors.Is(err, ErrTimeout) {
		goal := map[byte]string{'u': "up", 'U': "up and ready", 'd': "down", 'D': "down and finished"}[event]
		return fmt.Errorf("s6: %s is not %s after %s (s6-svwait -%c): %w", dir, goal, timeout, event, ErrTimeout)
	}
	return err
}

// WaitAll blocks until every slot of dirs reaches event (see Wait), at
// most timeout, with one s6-svwait for all of them.
func (t *Tools) WaitAll(ctx context.Context, dirs []string, event byte, timeout time.Duration) error {
	switch event {
	case 'u', 'U', 'd', 'D':
	default:
		return fmt.Errorf("s6: wait for %q: want one of u, U, d, D", event)
	}
	if len(dirs) == 0 {
		return nil
	}
	args := []string{"-" + string(event), "-a", "-t", millis(timeout)}
	_, err := t.run(ctx, filepath.Dir(dirs[0]), "s6-svwait", append(args, dirs...)...)
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("s6: not every slot of %s reached %q within %s (s6-svwait -%c -a): %w", filepath.Dir(dirs[0]), event, timeout, event, ErrTimeout)
	}
	return err
}

// Rescan tells the s6-svscan on scandir to scan now (s6-svscanctl -a);
// with prune, it also drops slots that vanished (-an).
func (t *Tools) Rescan(ctx context.Context, scandir string, prune bool) error {
	flag := "-a"
	if prune {
		flag = "-an"
	}
	_, err := t.run(ctx, scandir, "s6-svscanctl", flag, scandir)
	return err
}

// Shutdown asks the s6-svscan on scandir to bring every service down and
// exit (s6-svscanctl -t).
func (t *Tools) Shutdown(ctx context.Context, scandir string) error {
	_, err := t.run(ctx, scandir, "s6-svscanctl", "-t", scandir)
	return err
}

// Scanning reports whether an s6-svscan listens on scandir: its control
// FIFO has a reader. An unprivileged caller usually cannot open that FIFO;
// it gets ErrPermission.
func Scanning(scandir string) (bool, error) {
	ctl := filepath.Join(scandir, ".s6-svscan", "control")
	fd, err := syscall.Open(ctl, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	switch {
	case err == nil:
		syscall.Close(fd)
		return true, nil
	case errors.Is(err, syscall.ENXIO), errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, pathError("open", ctl, err)
}

// NotScanning is the error for a scan directory with no s6-svscan.
func NotScanning(scandir string) error {
	return fmt.Errorf("%w on %s: start s6-svscan (or `supervisor init`) on it", ErrNotRunning, scandir)
}

func millis(d time.Duration) string {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(int64(ms), 10)
}
