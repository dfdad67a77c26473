package main

import (
	"context"
	"path/filepath"
	"strconv"
)

// slotRun recognises the command line a slot's run script execs, exactly
// as package slot renders it:
//
//	supervisor [--config FILE] --home DIR --scandir DIR run -p NAME [--notify-fd N] [--verdict FILE]
//
// and returns the factory flags and run's options for it, so that the
// process that supervises a gateway for its whole life does not build the
// whole command tree first (less memory in every supervisor of a
// container). Anything else, even a valid command line of another shape,
// is not recognised (ok false) and goes through the command tree: this is
// a shortcut, never a second parser of the command line.
func slotRun(args []string) (flags globalFlags, notifyFD int, verdict string, ok bool) {
	notifyFD = -1
	i := 0
	take := func(name string, dst *string) bool {
		if i+1 < len(args) && args[i] == name && args[i+1] != "" {
			*dst = args[i+1]
			i += 2
			return true
		}
		return false
	}
	take("--config", &flags.config)
	if !take("--home", &flags.home) || !take("--scandir", &flags.scandir) {
		return flags, 0, "", false
	}
	if i >= len(args) || args[i] != "run" {
		return flags, 0, "", false
	}
	i++
	if !take("-p", &flags.profile) {
		return flags, 0, "", false
	}
	var fd string
	if take("--notify-fd", &fd) {
		n, err := strconv.Atoi(fd)
		if err != nil || n < 3 {
			return flags, 0, "", false // the command tree says what is wrong
		}
		notifyFD = n
	}
	if take("--verdict", &verdict) && !filepath.IsAbs(verdict) {
		return flags, 0, "", false
	}
	return flags, notifyFD, verdict, i == len(args)
}

// runSlot is "supervisor run" for the command line slotRun recognised.
func runSlot(ctx context.Context, io *ioStreams, flags globalFlags, notifyFD int, verdict string) int {
	f := newFactory(io)
	f.flags = flags
	opts := &runOptions{IO: f.IO, ProfileConfig: f.ProfileConfig, NotifyFD: notifyFD, Verdict: verdict}
	return exitCode(f, runRun(ctx, opts))
}
