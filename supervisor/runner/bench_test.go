package runner

import (
	"bufio"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// BenchmarkStopToDurable20 stops 20 supervised gateways at once with a
// plain SIGTERM (what a container stop sends) and measures, for each, the
// time from sending SIGTERM to "supervisor run" to the moment the stand-in
// gateway receives the forwarded signal. The supervisor forwards only once
// the decided state is durable on disk, so this is an upper bound of signal
// arrival -> decision durable. Reported: p50 and p99 over all stops of all
// iterations, and in-proc-*: the supervisor's own measure from the signal
// reaching its handler to the decision known durable.
//
// The references, measured in the same iterations on the same disk and
// cores, are minimal wrappers: a process that starts the same stand-in
// gateway and, on SIGTERM, forwards it, either at once (fwd-floor-*: what
// any process-per-gateway supervisor pays, two processes waking) or after
// making one state-sized file durable with state.WriteAtomic (proc-floor-*:
// a supervisor that writes on every stop). ratio-p99 is the supervisor's
// p99 over fwd-floor's; wake-floor-* is SIGTERM sent -> the forwarding
// wrapper's Go code running.
func BenchmarkStopToDurable20(b *testing.B) { benchStorm(b, false) }

// BenchmarkOperatorStopToDurable20 is BenchmarkStopToDurable20 with an
// operator's planned-stop marker naming every supervisor (a stop of every
// gateway at once): each decision differs from what is on disk and is
// written before the signal is forwarded. ratio-p99 is against the wrappers
// that write (proc-floor-*).
func BenchmarkOperatorStopToDurable20(b *testing.B) { benchStorm(b, true) }

func benchStorm(b *testing.B, operator bool) {
	n := benchN()
	var lat, took, fwd, write, wake []time.Duration
	written := 0
	for b.Loop() {
		b.StopTimer()
		f, w := procFloor(b, n, false)
		fwd, wake = append(fwd, f...), append(wake, w...)
		f, _ = procFloor(b, n, true)
		write = append(write, f...)
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
			if operator {
				_, err := state.WriteMarkerFor(envs[i].p.Marker, sups[i].cmd.Process.Pid, state.IntentStop, time.Now())
				require.NoError(b, err)
			}
		}
		settle()
		sent := make([]int64, n)
		for i := range n {
			sent[i] = time.Now().UnixNano()
			require.NoError(b, sups[i].cmd.Process.Signal(syscall.SIGTERM))
		}
		for i := range n {
			<-sups[i].done
			got := termAt(b, envs[i].events)
			lat = append(lat, time.Duration(got-sent[i]))
			log := sups[i].stderr.String()
			took = append(took, tookOf(b, log))
			if strings.Contains(log, "durable=written") {
				written++
			}
		}
		b.StartTimer()
	}
	report := func(ds []time.Duration, name string) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"p50-ms")
		p99 := ds[(len(ds)*99)/100]
		b.ReportMetric(float64(p99.Microseconds())/1000, name+"p99-ms")
		return p99
	}
	p99 := report(lat, "")
	report(took, "in-proc-")
	fp99 := report(fwd, "fwd-floor-")
	wp99 := report(write, "proc-floor-")
	report(wake, "wake-floor-")
	ref := fp99
	if operator {
		ref = wp99
	}
	b.ReportMetric(float64(p99)/float64(ref), "ratio-p99")
	// How many stops had to write before forwarding, out of all.
	b.ReportMetric(float64(written)/float64(len(lat)), "written-first")
}

// settle lets the machine go quiet after starting 40 processes, so that a
// storm does not also measure the tail of the previous one's start-up.
func settle() { time.Sleep(300 * time.Millisecond) }

// floorEnv, when set, makes the test binary the minimal wrapper of
// procFloor: the value is the directory it writes its state file in.
const floorEnv = "HERMES_BENCH_FLOOR_DIR"

// floorNoWriteEnv, when set, makes the wrapper forward without writing.
const floorNoWriteEnv = "HERMES_BENCH_FLOOR_NO_WRITE"

// procFloor runs n minimal wrappers (floorChild) around the stand-in
// gateway, stops them at once, and returns for each the time from SIGTERM
// sent to the gateway receiving it, and to the wrapper waking up. With
// write, each wrapper makes a state file durable before forwarding.
func procFloor(b *testing.B, n int, write bool) (lat, wake []time.Duration) {
	type child struct {
		cmd    *exec.Cmd
		out    *bufio.Reader
		events string
	}
	cs := make([]child, n)
	for i := range n {
		dir := b.TempDir()
		c := child{events: filepath.Join(dir, "events")}
		c.cmd = exec.Command(os.Args[0], standinBin, "-events", c.events, "-notify-after", "0s")
		c.cmd.Env = append(os.Environ(), floorEnv+"="+dir)
		if !write {
			c.cmd.Env = append(c.cmd.Env, floorNoWriteEnv+"=1")
		}
		out, err := c.cmd.StdoutPipe()
		require.NoError(b, err)
		c.cmd.Stderr = os.Stderr
		require.NoError(b, c.cmd.Start())
		c.out = bufio.NewReader(out)
		if l, err := c.out.ReadString('\n'); err != nil || l != "ready\n" {
			b.Fatalf("floor wrapper %d: %q %v", i, l, err)
		}
		cs[i] = c
	}
	settle()
	sent := make([]int64, n)
	for i := range n {
		sent[i] = time.Now().UnixNano()
		require.NoError(b, cs[i].cmd.Process.Signal(syscall.SIGTERM))
	}
	for i := range n {
		l, err := cs[i].out.ReadString('\n')
		require.NoError(b, err)
		woke, err := strconv.ParseInt(strings.TrimSpace(l), 10, 64)
		require.NoError(b, err)
		require.NoError(b, cs[i].cmd.Wait())
		lat = append(lat, time.Duration(termAt(b, cs[i].events)-sent[i]))
		wake = append(wake, time.Duration(woke-sent[i]))
	}
	return lat, wake
}

// floorChild is the minimal wrapper: it starts argv (the stand-in gateway)
// in its own process group with a notification pipe on fd 3, says "ready"
// once the gateway is, and on SIGTERM prints when it woke, makes one
// state-sized file durable (unless floorNoWriteEnv is set), forwards the
// signal and waits for the gateway.
func floorChild(dir string, argv []string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	r, w, err := os.Pipe()
	if err != nil {
		return 1
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), NotifyEnv+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 1
	}
	w.Close()
	if l, err := bufio.NewReader(r).ReadString('\n'); err != nil || !strings.HasPrefix(l, "ready") {
		return 1
	}
	os.Stdout.WriteString("ready\n")
	<-sigs
	woke := time.Now().UnixNano()
	if os.Getenv(floorNoWriteEnv) == "" {
		if err := state.WriteAtomic(filepath.Join(dir, "gateway_state.json"), floorState, 0o644); err != nil {
			return 1
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	os.Stdout.WriteString(strconv.FormatInt(woke, 10) + "\n")
	cmd.Wait()
	return 0
}

var floorState = []byte(`{"gateway_state":"running","desired_state":"running","timestamp":1764104400,"updated_at":"2026-11-25T21:00:00Z","exit_code":1,"reason":"signal without marker: revive at boot","policy":"default@3f2a9c1b","trigger":"signal"}` + "\n")

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
