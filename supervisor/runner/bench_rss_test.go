package runner

import (
	"io"
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

// BenchmarkPSS20 runs 20 "supervisor run" with the default policy at once,
// each with its gateway ready and idle, and reports what one costs when
// they share a machine: the median proportional set size (Pss: private
// pages, plus shared pages divided among the processes sharing them) and
// the median VmRSS. The reference, BenchmarkFloorPSS20, is 20 minimal Go
// wrappers measured the same way.
func BenchmarkPSS20(b *testing.B) {
	var pss, rss []float64
	for b.Loop() {
		sups := make([]*sup, 20)
		for i := range sups {
			e := newEnv(b, profile.Root, nil, "")
			sups[i] = e.start()
		}
		for _, s := range sups {
			s.waitReady(b)
		}
		time.Sleep(time.Second)
		for _, s := range sups {
			pss = append(pss, smapsPss(b, s.cmd.Process.Pid))
			rss = append(rss, vmRSS(b, s.cmd.Process.Pid))
		}
		for _, s := range sups {
			s.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, s := range sups {
			<-s.done
		}
	}
	sort.Float64s(pss)
	sort.Float64s(rss)
	b.ReportMetric(pss[len(pss)/2], "pss-MiB")
	b.ReportMetric(rss[len(rss)/2], "rss-MiB")
}

// BenchmarkFloorPSS20 is BenchmarkPSS20's reference: 20 minimal wrappers
// (floorChild: start the gateway, wait for a signal, forward it) at once.
func BenchmarkFloorPSS20(b *testing.B) {
	var pss []float64
	for b.Loop() {
		cmds := make([]*exec.Cmd, 20)
		for i := range cmds {
			dir := b.TempDir()
			cmd := exec.Command(os.Args[0], standinBin, "-notify-after", "0s")
			cmd.Env = append(os.Environ(), floorEnv+"="+dir, floorNoWriteEnv+"=1")
			out, err := cmd.StdoutPipe()
			require.NoError(b, err)
			require.NoError(b, cmd.Start())
			line := make([]byte, 6)
			_, err = io.ReadFull(out, line)
			require.NoError(b, err)
			cmds[i] = cmd
		}
		time.Sleep(time.Second)
		for _, c := range cmds {
			pss = append(pss, smapsPss(b, c.Process.Pid))
		}
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			c.Wait()
		}
	}
	sort.Float64s(pss)
	b.ReportMetric(pss[len(pss)/2], "pss-MiB")
}

// smapsPss is a process's proportional set size in MiB.
func smapsPss(b *testing.B, pid int) float64 {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	require.NoError(b, err)
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "Pss:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(b, err)
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no Pss for pid %d", pid)
	return 0
}
