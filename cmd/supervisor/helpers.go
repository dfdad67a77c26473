package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// forProfile returns c with the profile's profile.toml merged in.
func forProfile(c config.Config, name string) (config.Config, error) {
	p, err := profile.For(c.Home, name)
	if err != nil {
		return c, err
	}
	return c.ForProfile(p.Config)
}

// notifyFile validates --notify-fd (s6's notification-fd; -1 = none) and
// returns it as a file, marked close-on-exec so it never leaks to a gateway.
func notifyFile(fd int) (*os.File, error) {
	if fd < 0 {
		return nil, nil
	}
	if fd <= 2 {
		return nil, &usageError{fmt.Errorf("--notify-fd %d: must be 3 or more", fd)}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &usageError{fmt.Errorf("--notify-fd %d: not an open descriptor: %w", fd, err)}
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "notification-fd"), nil
}
