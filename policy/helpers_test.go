package policy_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/wattest"
)

// logBuffer collects log lines; safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// module compiles testdata/<dir>/<name>.wat into a .wasm file in a temp dir.
func module(t testing.TB, dir, name string) string {
	t.Helper()
	return wattest.File(t, filepath.Join("testdata", dir, name+".wat"), t.TempDir())
}

var now = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

func exitInput(code int32) *hostabi.Input {
	return &hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "coder", ExitCode: code, Phase: hostabi.PhaseRunning, Uptime: time.Minute}
}
