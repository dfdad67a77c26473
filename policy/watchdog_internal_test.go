package policy

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

// closeRecorder is a module whose closing is recorded.
type closeRecorder struct {
	api.Module
	closed chan time.Time
}

func (m *closeRecorder) CloseWithExitCode(_ context.Context, code uint32) error {
	m.closed <- time.Now()
	return nil
}

// A call that starts while the timer is still set for an earlier one gets
// its whole limit, and is stopped once it is past it.
func TestWatchdogGivesEachCallItsWholeLimit(t *testing.T) {
	t.Parallel()
	const limit = 100 * time.Millisecond
	w := newWatchdog(limit)
	defer w.stop()

	first := &closeRecorder{closed: make(chan time.Time, 1)}
	w.arm(first) // sets the timer
	assert.False(t, w.disarm(), "a call that ended in time")

	time.Sleep(limit / 10) // the next call starts, most often with the timer still set
	late := &closeRecorder{closed: make(chan time.Time, 1)}
	start := time.Now()
	w.arm(late)
	select {
	case at := <-late.closed:
		assert.GreaterOrEqual(t, at.Sub(start), limit, "stopped before its limit")
		t.Logf("stopped %s after it started (limit %s)", at.Sub(start), limit)
	case <-time.After(time.Minute):
		t.Fatal("a call past its limit was never stopped")
	}
	assert.True(t, w.disarm(), "the call timed out")
	assert.Empty(t, first.closed, "the call that ended in time is never closed")

	again := &closeRecorder{closed: make(chan time.Time, 1)}
	start = time.Now()
	w.arm(again) // the timer lapsed: this call sets it
	select {
	case at := <-again.closed:
		assert.GreaterOrEqual(t, at.Sub(start), limit, "stopped before its limit")
	case <-time.After(time.Minute):
		t.Fatal("a call past its limit was never stopped")
	}
	require.True(t, w.disarm())

	w.arm(first)
	require.False(t, w.disarm(), "the next call starts afresh")
	assert.Empty(t, first.closed)
}

func BenchmarkWatchdogArmDisarm(b *testing.B) {
	w := newWatchdog(time.Second)
	defer w.stop()
	mod := &closeRecorder{closed: make(chan time.Time, 1)}
	for b.Loop() {
		w.arm(mod)
		w.disarm()
	}
}
