package s6

import "errors"

// Sentinel errors, checked with errors.Is. Each is wrapped with a message
// that names the path at fault and says what to do.
var (
	// ErrNoSlot: the service directory does not exist in the scan directory.
	ErrNoSlot = errors.New("no such slot")
	// ErrNotRunning: s6-svscan (or the slot's s6-supervise) is not running.
	ErrNotRunning = errors.New("s6 is not running")
	// ErrPermission: the caller may not control or read the slot.
	ErrPermission = errors.New("permission denied")
	// ErrTimeout: a waiting command gave up before the state was reached.
	ErrTimeout = errors.New("timed out")
	// ErrNoBinary: an s6 program was not found.
	ErrNoBinary = errors.New("s6 program not found")
	// ErrBadOutput: an s6 program answered something this package cannot read.
	ErrBadOutput = errors.New("unexpected s6 output")
)
