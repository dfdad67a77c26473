package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// BenchmarkContainerStop20 is "docker stop" of a container running 20
// gateways: the time from SIGTERM to PID 1 until PID 1 has exited, by when
// every gateway's state must be durable. Each stop is checked: every state
// file records the signal that stopped it (trigger=signal,
// gateway_state=running). Reported as stop-ms (the mean of the
// iterations; run with -count for a distribution), with stop-cpu-ms, the
// CPU time every process of the container used during the stop.
func BenchmarkContainerStop20(b *testing.B) {
	const n = 20
	m := meterCPU(b)
	var total, step, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		require.NoError(b, container.HermesUser())
		c := container.New(b, container.Options{})
		require.NoError(b, c.Bin.NeedStandin())
		c.Start()
		c.WaitBoot(bootDeadline, "default")
		names := make([]string, n)
		for j := range names {
			names[j] = fmt.Sprintf("g%02d", j)
			for _, args := range [][]string{{"profile", "create", names[j]}, {"-p", names[j], "gateway", "start"}} {
				r := c.Supervisor(args...)
				require.True(b, r.OK(), "%s", r)
			}
		}
		for _, name := range names {
			c.WaitUp(name, upDeadline)
			if !container.Poll(upDeadline, func() bool { return c.GatewayState(name) == "running" }) {
				b.Fatalf("%s never running", name)
			}
		}
		st, used := timedStop(b, c, m)
		require.False(b, st.Killed, "PID 1 had to be killed")
		total += st.After
		cpu += used
		if d, ok := stopStep(c.Console); ok {
			step += d
		}
		for _, name := range names {
			m, err := c.State(name)
			require.NoError(b, err)
			require.Equal(b, "signal", m["trigger"], "%s: %v", name, m)
			require.Equal(b, "running", m["gateway_state"], "%s: %v", name, m)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "stop-ms")
	b.ReportMetric(float64(step.Microseconds())/1000/float64(b.N), "stop-step-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "stop-cpu-ms")
}

// meterCPU meters the CPU time of this benchmark process and of every
// container it starts from now on (see container.CPUMeter).
func meterCPU(b *testing.B) *container.CPUMeter {
	b.Helper()
	m, err := container.MeterCPU()
	require.NoError(b, err)
	b.Cleanup(m.Close)
	return m
}

// timedStop stops c and returns what it took and the CPU time every
// process used meanwhile (the benchmark process only waits).
func timedStop(b *testing.B, c *container.Container, m *container.CPUMeter) (container.Stopped, time.Duration) {
	b.Helper()
	u0, err := m.Used()
	require.NoError(b, err)
	b.StartTimer()
	st := c.Stop()
	b.StopTimer()
	u1, err := m.Used()
	require.NoError(b, err)
	return st, u1 - u0
}

// stopStep reads, from init's console, how long the last stop step took
// (every gateway slot down through its supervisor, before kill(-1)).
func stopStep(console string) (time.Duration, bool) {
	b, err := os.ReadFile(console)
	if err != nil {
		return 0, false
	}
	i := strings.LastIndex(string(b), "every slot down in ")
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+len("every slot down in "):]))
	if len(f) == 0 {
		return 0, false
	}
	d, err := time.ParseDuration(f[0])
	return d, err == nil
}

// BenchmarkContainerStop20Forwarders is the floor of the design: the same
// container stop with 20 minimal Go wrappers (tests/e2e/forwarder: start
// the stand-in gateway, forward SIGTERM, wait) in place of "supervisor
// run", under a bare s6-svscan: one Go process per gateway, deciding and
// recording nothing.
func BenchmarkContainerStop20Forwarders(b *testing.B) {
	fwd, err := container.BuildProgram("./tests/e2e/forwarder", "forwarder")
	require.NoError(b, err)
	benchBareStop(b, func(c *container.Container) string {
		return "#!/bin/sh\nexec " + fwd + " " + c.Bin.Standin + " --\n"
	}, nil)
}

// BenchmarkContainerStop20ForwardersSlot is the same floor in the shape of
// a gateway slot: each service also has a finish script (a shell that
// reads a verdict file and exits, as a slot's does when run handed it a
// verdict) and an s6-log logger of its own. What it adds to
// BenchmarkContainerStop20Forwarders is the cost of the slot's shape, not
// of the supervisor.
func BenchmarkContainerStop20ForwardersSlot(b *testing.B) {
	fwd, err := container.BuildProgram("./tests/e2e/forwarder", "forwarder")
	require.NoError(b, err)
	benchBareStop(b, func(c *container.Container) string {
		return "#!/bin/sh\nexec 2>&1\nexec " + fwd + " " + c.Bin.Standin + " --\n"
	}, func(logs string) map[string]string {
		return map[string]string{
			"finish":   "#!/bin/sh\nif read -r code plan 2>/dev/null <verdict; then :; fi\nexit 0\n",
			"verdict":  "0 0\n",
			"log/type": "longrun\n",
			"log/run":  "#!/bin/sh\nexec 2>&1\nexec s6-log -b -- n10 s1048576 T " + logs + "\n",
		}
	})
}

// BenchmarkContainerStop20Floor is the reference for
// BenchmarkContainerStop20: a bare s6-svscan as PID 1 with 20 services
// that exit at once on SIGTERM (sleep), no supervisor, no state.
func BenchmarkContainerStop20Floor(b *testing.B) {
	benchBareStop(b, func(*container.Container) string { return "#!/bin/sh\nexec sleep 3600\n" }, nil)
}

// benchBareStop times the stop of a bare s6-svscan as PID 1 with 20
// services whose run script is run(c), and, when extra is set, the files
// extra(logs) returns for each (path in the service directory -> content;
// run and finish scripts are executable; logs is a fresh directory for a
// logger).
func benchBareStop(b *testing.B, run func(*container.Container) string, extra func(logs string) map[string]string) {
	const n = 20
	m := meterCPU(b)
	var total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := container.New(b, container.Options{
			Init: func(c *container.Container) []string { return []string{"s6-svscan", c.Scandir} },
		})
		c.Start()
		c.WaitScanner(10 * time.Second)
		for j := range n {
			name := fmt.Sprintf("g%02d", j)
			tmp := c.Path(filepath.Join(c.Scandir, ".gateway-"+name))
			require.NoError(b, os.MkdirAll(tmp, 0o755))
			require.NoError(b, os.WriteFile(filepath.Join(tmp, "type"), []byte("longrun\n"), 0o644))
			require.NoError(b, os.WriteFile(filepath.Join(tmp, "run"), []byte(run(c)), 0o755))
			if extra != nil {
				logs := filepath.Join(c.Home, "logs", name)
				require.NoError(b, os.MkdirAll(c.Path(logs), 0o755))
				for rel, content := range extra(logs) {
					mode := os.FileMode(0o644)
					if strings.HasSuffix(rel, "run") || rel == "finish" {
						mode = 0o755
					}
					require.NoError(b, os.MkdirAll(filepath.Dir(filepath.Join(tmp, rel)), 0o755))
					require.NoError(b, os.WriteFile(filepath.Join(tmp, rel), []byte(content), mode))
				}
			}
			require.NoError(b, os.Rename(tmp, c.Slot(name)))
		}
		r := c.Exec("s6-svscanctl", "-a", c.Scandir)
		require.True(b, r.OK(), r.String())
		for j := range n {
			c.WaitUp(fmt.Sprintf("g%02d", j), upDeadline)
		}
		st, used := timedStop(b, c, m)
		require.False(b, st.Killed, "PID 1 had to be killed")
		total += st.After
		cpu += used
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "stop-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "stop-cpu-ms")
}
