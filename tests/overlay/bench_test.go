package overlay_test

import (
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/overlay"
)

// BenchmarkOverlayStop is `docker stop` of the shipped image under the real
// s6-overlay /init, for tests/bench.sh: one boot and one stop per
// iteration (run it with -benchtime 1x and -count N). Metrics, from the
// SIGTERM to PID 1:
//
//	stop-ms      PID 1 gone (what `docker stop` waits for)
//	step-ms      stage 3's kill(-1, SIGTERM): the stop step and the rest of
//	             s6-overlay's rc.shutdown are done
//	gateways-ms  the last gateway slot's finish done (not when idle)
//	cpu-ms       the CPU time every process of the container used
//	             meanwhile (container.CPUMeter)
//
// The idle container is the reference: s6-overlay's own stop, its
// S6_KILL_GRACETIME sleep included. A stop that lost a decision or
// SIGKILLed a gateway fails the benchmark: a fast wrong stop is no figure.
func BenchmarkOverlayStop(b *testing.B) {
	m, err := container.MeterCPU()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, bc := range []struct {
		name string
		fast int
	}{{"idle", 0}, {"fast6", 6}, {"fast20", 20}} {
		b.Run(bc.name, func(b *testing.B) {
			c := overlay.New(b, overlay.Options{})
			fl := c.SeedFleet(bc.fast, 0, 0)
			var stop, step, gateways, cpu time.Duration
			for i := 1; i <= b.N; i++ {
				c.Start()
				c.WaitBooted(60 * time.Second)
				if miss := c.WaitFleetUp(fl, i, 60*time.Second); len(miss) > 0 {
					b.Fatalf("boot %d: %v never came up", i, miss)
				}
				// As in TestMeasureStop: s6 restarts a service at most once a
				// second, which a container stopped right after its boot
				// would wait for.
				if u := c.Uptime(); u < 2*time.Second {
					time.Sleep(2*time.Second - u)
				}
				c.StartSentinel("term", false)
				u0, err := m.Used()
				if err != nil {
					b.Fatal(err)
				}
				st := c.Stop()
				u1, err := m.Used()
				if err != nil {
					b.Fatal(err)
				}
				cpu += u1 - u0
				if st.Killed || st.TermAll < 0 {
					b.Fatalf("stop %d: runtime SIGKILL %v, kill(-1, SIGTERM) seen %v", i, st.Killed, st.TermAll >= 0)
				}
				last := time.Duration(-1)
				for _, g := range c.ObserveStop(fl, st) {
					if g.Killed || g.State.Trigger != "signal" || g.State.Gateway != "running" || g.State.Desired != "running" || !g.FinishKnown {
						b.Fatalf("stop %d: %s: killed %v, state %s/%s trigger %q, finish seen %v",
							i, g.Profile, g.Killed, g.State.Gateway, g.State.Desired, g.State.Trigger, g.FinishKnown)
					}
					last = max(last, g.DoneAfter)
				}
				stop += st.After
				step += st.TermAll
				gateways += last
			}
			n := float64(b.N)
			b.ReportMetric(float64(stop.Milliseconds())/n, "stop-ms")
			b.ReportMetric(float64(step.Milliseconds())/n, "step-ms")
			b.ReportMetric(float64(cpu.Milliseconds())/n, "cpu-ms")
			if bc.fast > 0 {
				b.ReportMetric(float64(gateways.Milliseconds())/n, "gateways-ms")
			}
		})
	}
}
