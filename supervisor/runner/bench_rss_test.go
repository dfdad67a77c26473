package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// BenchmarkIdleRSSModule is BenchmarkIdleRSS with the policy module named
// by $HERMES_POLICY_BENCH (e.g. a Go-built policy) configured as
// policy.module:
//
//	HERMES_POLICY_BENCH=crashloop.wasm go test -run X -bench IdleRSSModule ./supervisor/runner/
func BenchmarkIdleRSSModule(b *testing.B) {
	path := os.Getenv("HERMES_POLICY_BENCH")
	if path == "" {
		b.Skip("opt-in: set HERMES_POLICY_BENCH to the .wasm file to measure")
	}
	abs, err := filepath.Abs(path)
	require.NoError(b, err)
	gw := `stop_grace = "5s"` + "\n" + `ready_after = "1h"` + "\n[policy]\nmodule = " + strconv.Quote(abs) + "\n"
	var rss []float64
	for b.Loop() {
		e := newEnv(b, profile.Root, nil, gw)
		s := e.start()
		select {
		case <-s.ready:
		case <-time.After(30 * time.Second):
			b.Fatalf("not ready: %s", s.stderr)
		}
		time.Sleep(500 * time.Millisecond)
		rss = append(rss, vmRSS(b, s.cmd.Process.Pid))
		s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
		require.NotContains(b, s.stderr.String(), "fallback", "the module must decide, not the fallback")
	}
	sort.Float64s(rss)
	b.ReportMetric(rss[len(rss)/2], "rss-MiB")
}

// BenchmarkS6SuperviseRSS is the floor for the idle RSS of "supervisor
// run": s6-supervise itself, supervising a sleeping service.
func BenchmarkS6SuperviseRSS(b *testing.B) {
	bin, err := exec.LookPath("s6-supervise")
	if err != nil {
		b.Fatal("s6-supervise not found: install s6 (apt-get install -y s6)")
	}
	var rss []float64
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "svc")
		require.NoError(b, os.MkdirAll(dir, 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755))
		cmd := exec.Command(bin, dir)
		require.NoError(b, cmd.Start())
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		// Wait until the service runs: s6-supervise has forked and settled.
		ok := false
		for i := 0; i < 300 && !ok; i++ {
			out, _ := exec.Command("s6-svstat", "-o", "up", dir).Output()
			ok = strings.TrimSpace(string(out)) == "true"
			if !ok {
				time.Sleep(10 * time.Millisecond)
			}
		}
		require.True(b, ok, "s6-supervise never brought the service up")
		time.Sleep(500 * time.Millisecond)
		rss = append(rss, vmRSS(b, cmd.Process.Pid))
		exec.Command("s6-svc", "-xd", dir).Run()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	sort.Float64s(rss)
	b.ReportMetric(rss[len(rss)/2], "rss-MiB")
}

// vmRSS is a process's resident set size in MiB.
func vmRSS(b *testing.B, pid int) float64 {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(b, err)
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(b, err)
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
