package policy

import (
	"context"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// exitTimeout is the exit code the watchdog closes a module with.
const exitTimeout = 0xeffffffe

// watchdog bounds calls into a module. When a call outlives the limit, it
// closes the module, which (the runtime being configured with
// WithCloseOnContextDone) stops the guest wherever it is spinning; the call
// then returns an error and disarm reports the timeout.
//
// It is coarse, so that a call costs two uncontended locks and no clock
// read (about 55 ns on this project's machines) nor timer reset and stop:
// one timer per engine ticks every quarter of the limit, and only while a
// call is in progress. A call that set the timer itself is stopped at the
// fourth tick, at its limit; one that started while the timer was already
// set (by an earlier call) counts its ticks from the first it sees, so it is
// stopped between its limit and a quarter past it. Never earlier. With no
// call in progress the timer lapses until the next call: an idle engine
// never wakes.
type watchdog struct {
	limit time.Duration
	timer *time.Timer

	mu      sync.Mutex
	pending bool       // the timer is set
	mod     api.Module // the module of the call in progress; nil when idle
	call    uint64     // calls armed so far
	seen    uint64     // the call the ticks count for
	ticks   int        // quarters of the limit it has been in progress, at least
	fired   bool       // the call in progress was stopped
}

// watchdogTicks is how many ticks make the limit.
const watchdogTicks = 4

func newWatchdog(limit time.Duration) *watchdog {
	w := &watchdog{limit: limit}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}

func (w *watchdog) tick() time.Duration { return w.limit / watchdogTicks }

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mod == nil {
		w.pending = false // idle: lapse until the next call
		return
	}
	if w.seen != w.call {
		w.seen, w.ticks = w.call, 0 // started some time since the last tick
	} else {
		w.ticks++
	}
	if w.ticks < watchdogTicks {
		w.timer.Reset(w.tick())
		return
	}
	w.pending = false
	w.fired = true
	w.mod.CloseWithExitCode(context.Background(), exitTimeout)
}

// arm starts the clock for a call into mod.
func (w *watchdog) arm(mod api.Module) {
	w.mu.Lock()
	w.call++
	w.mod, w.fired = mod, false
	if !w.pending {
		w.pending = true
		w.seen, w.ticks = w.call, 0 // the ticks start with this call
		w.timer.Reset(w.tick())
	}
	w.mu.Unlock()
}

// disarm ends the call and reports whether it timed out. A call that timed
// out has had its module closed, even if it returned in time to see an
// answer: the instance must be thrown away either way.
func (w *watchdog) disarm() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mod = nil
	return w.fired
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	w.pending, w.mod = false, nil
}
