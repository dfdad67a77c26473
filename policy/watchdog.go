package policy

import (
	"context"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// exitTimeout is the exit code the watchdog closes a module with.
const exitTimeout = 0xeffffffe

// watchdog bounds calls into a module. One timer serves every call of an
// engine: arm starts it, disarm stops it. When it fires first, it closes the
// module, which (the runtime being configured with WithCloseOnContextDone)
// stops the guest wherever it is spinning; the call then returns an error
// and disarm reports the timeout.
type watchdog struct {
	limit time.Duration
	timer *time.Timer

	mu    sync.Mutex
	mod   api.Module // the module of the call in progress; nil when idle
	fired bool
	stale int // firings already on their way for calls that ended in time
}

func newWatchdog(limit time.Duration) *watchdog {
	w := &watchdog{limit: limit}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stale > 0 {
		w.stale-- // the call it was meant for ended in time; it must not stop the next one
		return
	}
	if w.mod == nil {
		return
	}
	w.fired = true
	w.mod.CloseWithExitCode(context.Background(), exitTimeout)
}

// arm starts the clock for a call into mod.
func (w *watchdog) arm(mod api.Module) {
	w.mu.Lock()
	w.mod, w.fired = mod, false
	w.mu.Unlock()
	w.timer.Reset(w.limit)
}

// disarm stops the clock and reports whether the call timed out. A call
// that timed out has had its module closed, even if it returned in time to
// see an answer: the instance must be thrown away either way.
func (w *watchdog) disarm() bool {
	stopped := w.timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !stopped && !w.fired {
		w.stale++ // the limit passed as the call returned: fire is on its way
	}
	w.mod = nil
	return w.fired
}

func (w *watchdog) stop() { w.timer.Stop() }
