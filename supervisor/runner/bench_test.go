package runner

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// BenchmarkStopToDurable20 stops 20 supervised gateways at once and
// measures, for each, the time from sending SIGTERM to "supervisor run" to
// the moment the stand-in gateway receives the forwarded signal. The
// supervisor forwards only after the decided state is durable on disk, so
// this is an upper bound of signal arrival -> decision durable. Reported:
// p50 and p99 over all stops of all iterations.
//
// The reference, measured in the same run on the same disk: 20 goroutines
// each making one state-sized file durable at once with state.WriteAtomic
// (temporary file, fsync, rename, fsync of the directory), which no
// durable shutdown can beat. floor-* are its percentiles; ratio-p99 is the
// supervisor's own p99 over the floor's.
func BenchmarkStopToDurable20(b *testing.B) {
	n := benchN()
	var lat, took, floor []time.Duration
	for b.Loop() {
		b.StopTimer()
		floor = append(floor, durableFloor(b, n)...)
		b.StopTimer()
		envs := make([]*env, n)
		sups := make([]*sup, n)
		for i := range n {
			envs[i] = newEnv(b, profile.Root, nil, "")
			sups[i] = envs[i].start()
		}
		for i := range n {
			select {
			case <-sups[i].ready:
			case <-time.After(30 * time.Second):
				b.Fatalf("gateway %d not ready: %s", i, sups[i].stderr)
			}
		}
		sent := make([]int64, n)
		for i := range n {
			sent[i] = time.Now().UnixNano()
			require.NoError(b, sups[i].cmd.Process.Signal(syscall.SIGTERM))
		}
		for i := range n {
			<-sups[i].done
			got := termAt(b, envs[i].events)
			lat = append(lat, time.Duration(got-sent[i]))
			took = append(took, tookOf(b, sups[i].stderr.String()))
		}
		b.StartTimer()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "in-proc-p50-ms")
	b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "in-proc-p99-ms")
	sort.Slice(floor, func(i, j int) bool { return floor[i] < floor[j] })
	b.ReportMetric(float64(floor[len(floor)/2].Microseconds())/1000, "floor-p50-ms")
	fp99 := floor[(len(floor)*99)/100]
	b.ReportMetric(float64(fp99.Microseconds())/1000, "floor-p99-ms")
	b.ReportMetric(float64(took[(len(took)*99)/100])/float64(fp99), "ratio-p99")
}

// durableFloor makes n state-sized files durable at once, each in its own
// directory as profiles are, and returns how long each took.
func durableFloor(b *testing.B, n int) []time.Duration {
	data := []byte(`{"gateway_state":"running","desired_state":"running","timestamp":1764104400,"updated_at":"2026-11-25T21:00:00Z","exit_code":1,"reason":"signal without marker: revive at boot","policy":"default@3f2a9c1b","trigger":"signal"}` + "\n")
	out := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		dir := b.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			if err := state.WriteAtomic(filepath.Join(dir, "gateway_state.json"), data, 0o644); err != nil {
				b.Error(err)
			}
			out[i] = time.Since(t0)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// tookOf reads the supervisor's own measure of signal handled -> decision
// durable from its log line.
func tookOf(b *testing.B, log string) time.Duration {
	i := strings.Index(log, "shutdown decided and durable")
	require.GreaterOrEqual(b, i, 0, log)
	j := strings.Index(log[i:], "took=")
	require.GreaterOrEqual(b, j, 0, log)
	f := strings.Fields(log[i+j+len("took="):])[0]
	d, err := time.ParseDuration(f)
	require.NoError(b, err)
	return d
}

func termAt(b *testing.B, events string) int64 {
	f, err := os.Open(events)
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[0] == "signal" && fs[1] == "TERM" {
			v, err := strconv.ParseInt(fs[2], 10, 64)
			require.NoError(b, err)
			return v
		}
	}
	b.Fatalf("no TERM recorded in %s", events)
	return 0
}

// BenchmarkIdleRSS starts "supervisor run" with the default policy, waits
// until its gateway is ready and idle, and reports the supervisor's
// resident set size (VmRSS).
func BenchmarkIdleRSS(b *testing.B) {
	var rss []float64
	for b.Loop() {
		e := newEnv(b, profile.Root, nil, "")
		s := e.start()
		<-s.ready
		time.Sleep(500 * time.Millisecond)
		st, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
		require.NoError(b, err)
		for _, l := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				rss = append(rss, float64(kb)/1024)
			}
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
	}
	sort.Float64s(rss)
	b.ReportMetric(rss[len(rss)/2], "rss-MiB")
}

// benchN is how many gateways BenchmarkStopToDurable20 stops at once:
// 20, or $HERMES_BENCH_GATEWAYS to see how the cost grows.
func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("HERMES_BENCH_GATEWAYS")); err == nil && v > 0 {
		return v
	}
	return 20
}
