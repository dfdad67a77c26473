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
// iterations; run with -count for a distribution).
func BenchmarkContainerStop20(b *testing.B) {
	const n = 20
	var total, step time.Duration
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
		b.StartTimer()
		st := c.Stop()
		b.StopTimer()
		require.False(b, st.Killed, "PID 1 had to be killed")
		total += st.After
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
}

// stopStep reads, from init's console, how long the last stop step took
// (every gateway slot down through its supervisor, before kill(-1)).
func stopStep(console string) (time.Duration, bool) {
	b, err := os.ReadFile(console)
	if err != nil {
		return 0, false
	}
	i := strings.LastIndex(string(b), "gateway slots down in ")
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+len("gateway slots down in "):]))
	if len(f) == 0 {
		return 0, false
	}
	d, err := time.ParseDuration(f[0])
	return d, err == nil
}

// BenchmarkContainerStop20Floor is the reference for
// BenchmarkContainerStop20: a bare s6-svscan as PID 1 with 20 services
// that exit at once on SIGTERM (sleep), no supervisor, no state.
func BenchmarkContainerStop20Floor(b *testing.B) {
	const n = 20
	var total time.Duration
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
			require.NoError(b, os.WriteFile(filepath.Join(tmp, "run"), []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755))
			require.NoError(b, os.Rename(tmp, c.Slot(name)))
		}
		r := c.Exec("s6-svscanctl", "-a", c.Scandir)
		require.True(b, r.OK(), r.String())
		for j := range n {
			c.WaitUp(fmt.Sprintf("g%02d", j), upDeadline)
		}
		b.StartTimer()
		st := c.Stop()
		b.StopTimer()
		require.False(b, st.Killed, "PID 1 had to be killed")
		total += st.After
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "stop-ms")
}
