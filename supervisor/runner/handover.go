package runner

import (
	"os"
	"strconv"
	"syscall"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/lifecycle"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// handOver writes the verdict v for the slot's finish script into
// Options.VerdictFile, when run was given one: one line, "RUN_EXIT
// FINISH_CODE", which the script reads with its shell's own read and
// follows without starting anything when RUN_EXIT is the code s6 reports
// (see package s6's finish script). The file is the slot's (s6's tmpfs),
// created by whoever published the slot and given to the gateway user:
// this writes into it, never creates or replaces it, and never syncs it.
func (o *Options) handOver(v state.Verdict) {
	if o.VerdictFile == "" {
		return
	}
	line := strconv.Itoa(v.RunExit) + " " + strconv.Itoa(lifecycle.FinishCode(v)) + "\n"
	fd, err := syscall.Open(o.VerdictFile, syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err != nil {
		o.Logger.Warn("runner: verdict for finish", "file", o.VerdictFile, "err", err)
		return
	}
	f := os.NewFile(uintptr(fd), o.VerdictFile)
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		o.Logger.Warn("runner: verdict for finish: not a regular file", "file", o.VerdictFile)
		return
	}
	if _, err := f.WriteString(line); err != nil {
		o.Logger.Warn("runner: verdict for finish", "file", o.VerdictFile, "err", err)
	}
	f.Close()
}
