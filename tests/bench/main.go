// Command bench runs the product's benchmarks several times, each with the
// reference it is compared with, and writes a report: the machine, then
// every figure as a median with min and max over the runs and its ratio to
// the reference measured in the same run. tests/bench.sh runs it from the
// module root:
//
//	go run ./tests/bench [-count 5] [-out BENCHMARKS.md]
//
// It drives `go test -bench` and parses its output; it must not import the
// product's packages.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// job is one `go test -bench` invocation; its results are keyed by tag.
type job struct {
	tag, pkg, bench, benchtime string
	env                        []string
}

// figure is one line of the report.
type figure struct {
	section, name string
	key           string  // tag|Benchmark|unit of the value
	scale         float64 // value * scale is shown
	unit          string
	ref, refName  string // key of the reference, its description
	refScale      float64
	lowerIsBetter bool
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	count := flag.Int("count", 5, "runs of every benchmark")
	out := flag.String("out", "BENCHMARKS.md", "the report file")
	raw := flag.String("raw", "tests/bench/last-run.txt", "where the raw go test output goes")
	flag.Parse()
	if err := run(*count, *out, *raw); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(count int, out, rawPath string) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the module root (go.mod not found): %w", err)
	}
	tmp, err := os.MkdirTemp("", "hermes-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wasm := filepath.Join(tmp, "crashloop.wasm")
	fmt.Fprintln(os.Stderr, "bench: building policies/examples/crashloop with `supervisor policy build`")
	if b, err := exec.Command("go", "run", "./cmd/supervisor", "policy", "build", "policies/examples/crashloop", "--write", wasm).CombinedOutput(); err != nil {
		return fmt.Errorf("policy build: %w: %s", err, b)
	}
	mod := "HERMES_POLICY_BENCH=" + wasm
	jobs := []job{
		{"default", "./policy/fallback", "^BenchmarkDefault", "", nil},
		{"host", "./policy", "^(BenchmarkDecideNative|BenchmarkModuleFile)$", "", []string{mod}},
		{"boot", "./supervisor/boot", "^BenchmarkBoot(10|100|1000)$", "5x", nil},
		{"firstboot", "./supervisor/boot", "^BenchmarkBoot1000FirstBoot$", "4x", nil},
		{"journal", "./supervisor/journal", "^BenchmarkAppend$", "", nil},
		{"stop20", "./supervisor/runner", "^BenchmarkStopToDurable20$", "5x", nil},
		{"stop1", "./supervisor/runner", "^BenchmarkStopToDurable20$", "5x", []string{"HERMES_BENCH_GATEWAYS=1"}},
		{"opstop20", "./supervisor/runner", "^BenchmarkOperatorStopToDurable20$", "5x", nil},
		{"opstop1", "./supervisor/runner", "^BenchmarkOperatorStopToDurable20$", "5x", []string{"HERMES_BENCH_GATEWAYS=1"}},
		{"rss", "./supervisor/runner", "^(BenchmarkIdleRSS|BenchmarkIdleRSSModule|BenchmarkS6SuperviseRSS)$", "1x", []string{mod}},
		{"pss", "./supervisor/runner", "^(BenchmarkPSS20|BenchmarkFloorPSS20)$", "1x", nil},
		{"container", "./tests/e2e", "^BenchmarkContainerStop20(Forwarders|ForwardersSlot|Floor)?$", "1x", nil},
		{"overlay", "./tests/overlay", "^BenchmarkOverlayStop$", "1x", nil},
	}
	var rawOut bytes.Buffer
	vals := map[string][]float64{}
	started := time.Now()
	for _, j := range jobs {
		args := []string{"test", "-run", "^$", "-bench", j.bench, "-count", strconv.Itoa(count)}
		if j.benchtime != "" {
			args = append(args, "-benchtime", j.benchtime)
		}
		args = append(args, j.pkg)
		fmt.Fprintf(os.Stderr, "bench: [%s] go %s\n", j.tag, strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), j.env...)
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&b, &rawOut), io.MultiWriter(&b, &rawOut)
		fmt.Fprintf(&rawOut, "### [%s] %s go %s\n", j.tag, strings.Join(j.env, " "), strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			os.WriteFile(rawPath, rawOut.Bytes(), 0o644)
			return fmt.Errorf("[%s] go test: %w (output in %s)", j.tag, err, rawPath)
		}
		parse(j.tag, &b, vals)
	}
	if err := os.WriteFile(rawPath, rawOut.Bytes(), 0o644); err != nil {
		return err
	}
	rep := report(count, vals, time.Since(started), rawPath)
	if err := os.WriteFile(out, []byte(rep), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s (raw output in %s)\n", out, rawPath)
	return nil
}

// parse collects every metric of every benchmark line under tag|name|unit.
func parse(tag string, r io.Reader, vals map[string][]float64) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			k := tag + "|" + m[1] + "|" + f[i+1]
			vals[k] = append(vals[k], v)
		}
	}
}

type stat struct{ med, min, max float64 }

func stats(v []float64) (stat, bool) {
	if len(v) == 0 {
		return stat{}, false
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med, s[0], s[len(s)-1]}, true
}

func figures() []figure {
	const ms, us = 1e-6, 1e-3
	native := "host|BenchmarkDecideNative|ns/op"
	return []figure{
		{"Decision latency (warm instance)", "native fallback (the floor)", native, 1, "ns", "", "", 0, true},
		{"Decision latency (warm instance)", "native fallback, in the default policy's run", "default|BenchmarkDefaultDecideNative|ns/op", 1, "ns", "", "", 0, true},
		{"Decision latency (warm instance)", "default policy, wasm (embedded: metered, no termination checks)", "default|BenchmarkDefaultDecideWarm|ns/op", 1, "ns", "default|BenchmarkDefaultDecideNative|ns/op", "native fallback, same run", 1, true},
		{"Decision latency (warm instance)", "default policy's code run as an operator's module (termination checks, watchdog)", "default|BenchmarkDefaultDecideWarmAsOperatorModule|ns/op", 1, "ns", "default|BenchmarkDefaultDecideNative|ns/op", "native fallback, same run", 1, true},
		{"Decision latency (warm instance)", "Go-built policy (crashloop), wasm", "host|BenchmarkModuleFile/DecideWarm|ns/op", 1, "ns", native, "native fallback", 1, true},
		{"First decision (Open + one decision, fresh engine)", "default, no cache", "default|BenchmarkDefaultFirstDecision/no-cache|ns/op", ms, "ms", "default|BenchmarkDefaultFirstDecision/warm-cache|ns/op", "default, warm cache", ms, true},
		{"First decision (Open + one decision, fresh engine)", "default, warm cache", "default|BenchmarkDefaultFirstDecision/warm-cache|ns/op", ms, "ms", "default|BenchmarkDefaultDecideWarm|ns/op", "default, warm instance", ms, true},
		{"First decision (Open + one decision, fresh engine)", "Go-built, no cache", "host|BenchmarkModuleFile/FirstDecision/no-cache|ns/op", ms, "ms", "default|BenchmarkDefaultFirstDecision/no-cache|ns/op", "default, no cache", ms, true},
		{"First decision (Open + one decision, fresh engine)", "Go-built, warm cache", "host|BenchmarkModuleFile/FirstDecision/warm-cache|ns/op", ms, "ms", "default|BenchmarkDefaultFirstDecision/warm-cache|ns/op", "default, warm cache", ms, true},
		{"Memory held per open engine", "default, heap", "default|BenchmarkDefaultMemoryHeld|heap-bytes/engine", 1.0 / 1024, "KiB", "", "", 0, true},
		{"Memory held per open engine", "Go-built, heap", "host|BenchmarkModuleFile/MemoryHeld|heap-bytes/engine", 1.0 / 1024, "KiB", "default|BenchmarkDefaultMemoryHeld|heap-bytes/engine", "default, heap", 1.0 / 1024, true},
		{"Memory held per open engine", "default, RSS", "default|BenchmarkDefaultMemoryHeld|rss-bytes/engine", 1.0 / 1024, "KiB", "", "", 0, true},
		{"Memory held per open engine", "Go-built, RSS", "host|BenchmarkModuleFile/MemoryHeld|rss-bytes/engine", 1.0 / 1024, "KiB", "default|BenchmarkDefaultMemoryHeld|rss-bytes/engine", "default, RSS", 1.0 / 1024, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "10 profiles (+ default), restart", "boot|BenchmarkBoot10|median-ms", 1, "ms", "", "", 0, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "100 profiles, restart", "boot|BenchmarkBoot100|median-ms", 1, "ms", "boot|BenchmarkBoot10|median-ms", "10 profiles", 1, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "1000 profiles, restart", "boot|BenchmarkBoot1000|median-ms", 1, "ms", "boot|BenchmarkBoot100|median-ms", "100 profiles", 1, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "1000 profiles, first boot of the volume", "firstboot|BenchmarkBoot1000FirstBoot|median-ms", 1, "ms", "firstboot|BenchmarkBoot1000FirstBoot|inode-floor-ms", "creating the same 3003 inodes bare", 1, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "per profile, 10", "boot|BenchmarkBoot10|us/profile", 1, "µs", "", "", 0, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "per profile, 100", "boot|BenchmarkBoot100|us/profile", 1, "µs", "boot|BenchmarkBoot10|us/profile", "per profile, 10", 1, true},
		{"`supervisor boot` (warm policy, slots on tmpfs)", "per profile, 1000", "boot|BenchmarkBoot1000|us/profile", 1, "µs", "boot|BenchmarkBoot10|us/profile", "per profile, 10", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "1 gateway, p50 (signal sent -> gateway got it)", "stop1|BenchmarkStopToDurable20|p50-ms", 1, "ms", "stop1|BenchmarkStopToDurable20|fwd-floor-p50-ms", "wrapper that only forwards, p50", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "1 gateway, p99", "stop1|BenchmarkStopToDurable20|p99-ms", 1, "ms", "stop1|BenchmarkStopToDurable20|fwd-floor-p99-ms", "wrapper that only forwards, p99", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "20 gateways at once, p50", "stop20|BenchmarkStopToDurable20|p50-ms", 1, "ms", "stop20|BenchmarkStopToDurable20|fwd-floor-p50-ms", "20 wrappers that only forward, p50", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "20 gateways at once, p99", "stop20|BenchmarkStopToDurable20|p99-ms", 1, "ms", "stop20|BenchmarkStopToDurable20|fwd-floor-p99-ms", "20 wrappers that only forward, p99", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "20 at once, in-process p99 (signal handled -> known durable)", "stop20|BenchmarkStopToDurable20|in-proc-p99-ms", 1, "ms", "stop20|BenchmarkStopToDurable20|fwd-floor-p99-ms", "20 wrappers that only forward, p99", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "20 wrappers that write durably, then forward, p99", "stop20|BenchmarkStopToDurable20|proc-floor-p99-ms", 1, "ms", "stop20|BenchmarkStopToDurable20|fwd-floor-p99-ms", "20 wrappers that only forward, p99", 1, true},
		{"Stop signal -> durable state (plain SIGTERM: a container stop)", "20 wrappers that only forward: SIGTERM sent -> their Go code runs, p99", "stop20|BenchmarkStopToDurable20|wake-floor-p99-ms", 1, "ms", "stop20|BenchmarkStopToDurable20|fwd-floor-p99-ms", "20 wrappers that only forward, p99", 1, true},
		{"Stop signal -> durable state (operator stop: written before forwarding)", "1 gateway, p50", "opstop1|BenchmarkOperatorStopToDurable20|p50-ms", 1, "ms", "opstop1|BenchmarkOperatorStopToDurable20|proc-floor-p50-ms", "wrapper that writes durably, then forwards, p50", 1, true},
		{"Stop signal -> durable state (operator stop: written before forwarding)", "1 gateway, p99", "opstop1|BenchmarkOperatorStopToDurable20|p99-ms", 1, "ms", "opstop1|BenchmarkOperatorStopToDurable20|proc-floor-p99-ms", "wrapper that writes durably, then forwards, p99", 1, true},
		{"Stop signal -> durable state (operator stop: written before forwarding)", "20 gateways at once, p50", "opstop20|BenchmarkOperatorStopToDurable20|p50-ms", 1, "ms", "opstop20|BenchmarkOperatorStopToDurable20|proc-floor-p50-ms", "20 wrappers that write, p50", 1, true},
		{"Stop signal -> durable state (operator stop: written before forwarding)", "20 gateways at once, p99", "opstop20|BenchmarkOperatorStopToDurable20|p99-ms", 1, "ms", "opstop20|BenchmarkOperatorStopToDurable20|proc-floor-p99-ms", "20 wrappers that write, p99", 1, true},
		{"Stop signal -> durable state (operator stop: written before forwarding)", "20 at once, in-process p99 (signal handled -> durable)", "opstop20|BenchmarkOperatorStopToDurable20|in-proc-p99-ms", 1, "ms", "opstop20|BenchmarkOperatorStopToDurable20|proc-floor-p99-ms", "20 wrappers that write, p99", 1, true},
		{"Container stop, 20 gateways", "SIGTERM to PID 1 -> every state durable, PID 1 exited", "container|BenchmarkContainerStop20|stop-ms", 1, "ms", "container|BenchmarkContainerStop20Forwarders|stop-ms", "20 Go wrappers that only forward (the design's floor)", 1, true},
		{"Container stop, 20 gateways", "of which the stop step (every slot down through its supervisor)", "container|BenchmarkContainerStop20|stop-step-ms", 1, "ms", "container|BenchmarkContainerStop20|stop-ms", "the whole stop", 1, true},
		{"Container stop, 20 gateways", "the same stop against the same wrappers in the slot's shape (a finish script and an s6-log each)", "container|BenchmarkContainerStop20|stop-ms", 1, "ms", "container|BenchmarkContainerStop20ForwardersSlot|stop-ms", "20 forwarders in the slot's shape", 1, true},
		{"Container stop, 20 gateways", "20 Go wrappers that only forward, under bare s6-svscan", "container|BenchmarkContainerStop20Forwarders|stop-ms", 1, "ms", "container|BenchmarkContainerStop20Floor|stop-ms", "bare s6-svscan, 20 sleep services", 1, true},
		{"Container stop, 20 gateways", "20 forwarders in the slot's shape: each with a finish script and an s6-log", "container|BenchmarkContainerStop20ForwardersSlot|stop-ms", 1, "ms", "container|BenchmarkContainerStop20Floor|stop-ms", "bare s6-svscan, 20 sleep services", 1, true},
		{"Container stop, 20 gateways", "bare s6-svscan, 20 sleep services", "container|BenchmarkContainerStop20Floor|stop-ms", 1, "ms", "", "", 0, true},
		{"Container stop, 20 gateways", "CPU time of every process in the container during the stop", "container|BenchmarkContainerStop20|stop-cpu-ms", 1, "ms", "container|BenchmarkContainerStop20Forwarders|stop-cpu-ms", "20 Go wrappers that only forward, CPU", 1, true},
		{"Container stop, 20 gateways", "20 Go wrappers that only forward, CPU", "container|BenchmarkContainerStop20Forwarders|stop-cpu-ms", 1, "ms", "container|BenchmarkContainerStop20Floor|stop-cpu-ms", "bare s6-svscan, CPU", 1, true},
		{"Container stop, 20 gateways", "20 forwarders in the slot's shape, CPU", "container|BenchmarkContainerStop20ForwardersSlot|stop-cpu-ms", 1, "ms", "container|BenchmarkContainerStop20Floor|stop-cpu-ms", "bare s6-svscan, CPU", 1, true},
		{"Container stop, 20 gateways", "bare s6-svscan, 20 sleep services, CPU", "container|BenchmarkContainerStop20Floor|stop-cpu-ms", 1, "ms", "", "", 0, true},
		{"`docker stop` under the real s6-overlay init (the shipped image)", "idle: no gateway (s6-overlay's own stop, its S6_KILL_GRACETIME sleep included)", "overlay|BenchmarkOverlayStop/idle|stop-ms", 1, "ms", "", "", 0, true},
		{"`docker stop` under the real s6-overlay init (the shipped image)", "6 gateways", "overlay|BenchmarkOverlayStop/fast6|stop-ms", 1, "ms", "overlay|BenchmarkOverlayStop/idle|stop-ms", "idle container", 1, true},
		{"`docker stop` under the real s6-overlay init (the shipped image)", "20 gateways", "overlay|BenchmarkOverlayStop/fast20|stop-ms", 1, "ms", "overlay|BenchmarkOverlayStop/idle|stop-ms", "idle container", 1, true},
		{"`docker stop` under the real s6-overlay init (the shipped image)", "20 gateways: every slot down, its finish done", "overlay|BenchmarkOverlayStop/fast20|gateways-ms", 1, "ms", "overlay|BenchmarkOverlayStop/fast20|stop-ms", "the whole stop", 1, true},
		{"`docker stop` under the real s6-overlay init (the shipped image)", "20 gateways: stage 3's kill(-1, SIGTERM) (the stop step and rc.shutdown done)", "overlay|BenchmarkOverlayStop/fast20|step-ms", 1, "ms", "overlay|BenchmarkOverlayStop/idle|step-ms", "idle container", 1, true},
		{"`docker stop` under the real s6-overlay init (the shipped image)", "20 gateways: CPU time of every process in the container during the stop", "overlay|BenchmarkOverlayStop/fast20|cpu-ms", 1, "ms", "overlay|BenchmarkOverlayStop/idle|cpu-ms", "idle container, CPU", 1, true},
		{"Idle RSS per gateway", "`supervisor run`, default policy", "rss|BenchmarkIdleRSS|rss-MiB", 1, "MiB", "rss|BenchmarkS6SuperviseRSS|rss-MiB", "s6-supervise", 1, true},
		{"Idle RSS per gateway", "`supervisor run`, Go-built policy", "rss|BenchmarkIdleRSSModule|rss-MiB", 1, "MiB", "rss|BenchmarkS6SuperviseRSS|rss-MiB", "s6-supervise", 1, true},
		{"Idle RSS per gateway", "s6-supervise (the floor)", "rss|BenchmarkS6SuperviseRSS|rss-MiB", 1, "MiB", "", "", 0, true},
		{"Memory per gateway, 20 side by side (proportional set size)", "`supervisor run`, default policy, Pss", "pss|BenchmarkPSS20|pss-MiB", 1, "MiB", "pss|BenchmarkFloorPSS20|pss-MiB", "20 minimal Go wrappers, Pss", 1, true},
		{"Memory per gateway, 20 side by side (proportional set size)", "`supervisor run`, default policy, VmRSS", "pss|BenchmarkPSS20|rss-MiB", 1, "MiB", "rss|BenchmarkS6SuperviseRSS|rss-MiB", "s6-supervise", 1, true},
		{"Memory per gateway, 20 side by side (proportional set size)", "20 minimal Go wrappers (the floor of a Go wrapper), Pss", "pss|BenchmarkFloorPSS20|pss-MiB", 1, "MiB", "", "", 0, true},
		{"Decision journal", "one append (exit decision, 8 history records)", "journal|BenchmarkAppend|ns/op", us, "µs", "opstop1|BenchmarkOperatorStopToDurable20|proc-floor-p50-ms", "one durable stop of a minimal wrapper, p50", 1000, true},
	}
}

func num(v float64) string {
	switch a := v; {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64) // three significant digits below 1
	}
}

func report(count int, vals map[string][]float64, took time.Duration, rawPath string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nGenerated by `bash tests/bench.sh` (`go run ./tests/bench -count %d`) in %s.\n", count, took.Round(time.Second))
	b.WriteString("Every figure is the median of the runs with [min, max]; the ratio is that median over the median of its reference, measured in the same run on the same machine. Raw `go test` output: `" + rawPath + "`.\n\n")
	b.WriteString("## Machine\n\n")
	for _, l := range machine() {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	section := ""
	missing := 0
	for _, f := range figures() {
		if f.section != section {
			section = f.section
			fmt.Fprintf(&b, "\n## %s\n\n| figure | median | [min, max] | reference | ratio |\n|---|---|---|---|---|\n", section)
		}
		s, ok := stats(vals[f.key])
		if !ok {
			missing++
			fmt.Fprintf(&b, "| %s | missing (%s) | | | |\n", f.name, f.key)
			continue
		}
		ref, ratio := "—", "—"
		if f.ref != "" {
			if r, ok := stats(vals[f.ref]); ok {
				ref = fmt.Sprintf("%s: %s %s", f.refName, num(r.med*f.refScale), f.unit)
				ratio = fmt.Sprintf("%.2f×", s.med*f.scale/(r.med*f.refScale))
			} else {
				ref = f.refName + ": missing"
			}
		}
		fmt.Fprintf(&b, "| %s | %s %s | [%s, %s] | %s | %s |\n", f.name, num(s.med*f.scale), f.unit, num(s.min*f.scale), num(s.max*f.scale), ref, ratio)
	}
	b.WriteString(notes)
	if missing > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d figures missing from the output\n", missing)
	}
	return b.String()
}

const notes = `
## What each figure measures

- Decision latency: ` + "`Engine.Decide`" + ` on a warm instance, a shutdown decision on a running gateway (policy/internal/bench); the floor is ` + "`fallback.Decide`" + `, the same table in Go, measured in each benchmark process. The embedded default module runs metered (every loop turn and call spends a bounded budget), without wazero's per-call termination machinery or the watchdog; the same code with one custom section added is, to the host, an operator's module, and runs with both.
- First decision: ` + "`policy.Open`" + ` plus one decision in a fresh engine inside the benchmark process, with no compilation cache and with a warm one (what ` + "`supervisor run`" + ` pays when it starts, minus process start).
- Boot: ` + "`boot.Run`" + ` over N named profiles plus default (a third running, a third stopped, a third without state), policy already open, a fresh scan directory on /dev/shm each time (median of each run's iterations). Restart: the volume was booted once before, as after a container restart. First boot: a volume never booted, so every profile's log directory, state directory and decision journal is created; its reference is creating those 3003 inodes bare on the same file system in the same loop (on this machine's ext4 a new inode costs far more than a lookup, and more as the file system churns).
- Stop signal -> durable state: SIGTERM to ` + "`supervisor run`" + ` until the stand-in gateway receives the forwarded signal, which happens only once the decided state is durable: fsynced by this stop, or (plain SIGTERM, decided ` + "`running`" + `) found to be exactly the file the supervisor last made durable. The references, measured in the same iterations, are as many minimal wrappers (a Go process around the same stand-in gateway) stopped the same way: one kind forwards the signal at once (what any process-per-gateway supervisor pays at the least on this machine; its first part, SIGTERM sent -> the wrapper's Go code runs, is reported on its own), the other first makes one state-sized file durable with the same sequence (temporary file, fsync, rename, fsync of the directory). The operator-stop benchmark puts a planned-stop marker naming every supervisor before the signal, so every decision is written before forwarding. 1 gateway: five stops per run; 20: twenty at once, five times per run.
- Container stop: the simulated container (PID namespace, tmpfs scan directory) running ` + "`supervisor init`" + ` with 20 started gateways; SIGTERM to PID 1 until it exits; every state file is checked afterwards (trigger=signal). The stop step is ` + "`supervisor init`" + `'s own report of its stop step (every slot brought down through its supervisor, as s6-overlay's cont-finish step does), the rest being process exit and the kill(-1) sweep. References: the same stop with 20 minimal Go wrappers (forward SIGTERM to the stand-in gateway, decide and record nothing) under a bare s6-svscan, which is what any design with one Go process per gateway pays; the same wrappers in the shape of a gateway slot (each with a finish script that reads a verdict file, as a slot's does, and an s6-log logger of its own); and a bare s6-svscan PID 1 with 20 ` + "`sleep`" + ` services. The CPU rows are the CPU time (user and system) every process of the container used from the SIGTERM until PID 1 was gone, from a control group the benchmark process and its containers run in (tests/container's CPUMeter): on 2 cores a stop whose CPU time is about twice its duration is bound by CPU, not by waiting.
- ` + "`docker stop`" + ` under the real s6-overlay init: the image ` + "`s6/overlay/Dockerfile.fragment`" + ` builds, booted by s6-overlay's ` + "`/init`" + ` as PID 1 of fresh namespaces (tests/overlay), with N stand-in gateways that stop at once, stopped 2 s after boot by SIGTERM to PID 1 until PID 1 is gone; every gateway's state is checked afterwards (trigger=signal, not SIGKILLed). The stop includes s6-overlay's S6_KILL_GRACETIME (500 ms in the image), which stage 3 always sleeps in full after kill(-1, SIGTERM): the idle container is the reference. Each run is one boot and one stop.
- Idle RSS: VmRSS of ` + "`supervisor run`" + ` 0.5 s after its gateway is ready; the floor is VmRSS of s6-supervise supervising ` + "`sleep`" + `.
- Memory per gateway, 20 side by side: 20 ` + "`supervisor run`" + ` with the default policy started at once, each with its gateway ready, then 1 s idle; the median of their Pss (from /proc/PID/smaps_rollup: private pages plus each shared page divided among its sharers, so the binary's text counts once across the 20) and of their VmRSS. The floor is 20 minimal Go wrappers measured the same way.
`

func machine() []string {
	sh := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown (" + name + ": " + err.Error() + ")"
		}
		return strings.TrimSpace(string(out))
	}
	var cpu, mem string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	tmp := os.TempDir()
	fs := sh("findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", tmp)
	disk := diskType(strings.Fields(fs))
	return []string{
		"date: " + time.Now().UTC().Format(time.RFC3339),
		"commit: " + sh("git", "rev-parse", "--short", "HEAD"),
		fmt.Sprintf("nproc: %s (GOMAXPROCS %d), CPU: %s", sh("nproc"), runtime.GOMAXPROCS(0), cpu),
		"memory: " + mem,
		"kernel: " + sh("uname", "-srm"),
		fmt.Sprintf("disk under %s (where the benchmarks write): %s; %s", tmp, fs, disk),
		"go: " + sh("go", "version"),
		"s6: " + s6Version(),
	}
}

// diskType says whether the block device behind a mount is rotational.
func diskType(f []string) string {
	if len(f) < 2 {
		return "type unknown"
	}
	if f[1] == "tmpfs" {
		return "memory (tmpfs)"
	}
	dev := filepath.Base(f[0])
	out, err := exec.Command("lsblk", "-n", "-d", "-o", "ROTA,TYPE,MODEL", "-s", "/dev/"+dev).Output()
	if err != nil {
		return "device type unknown (lsblk: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if len(last) > 0 && last[0] == "0" {
		return "non-rotational (SSD/NVMe/virtual): lsblk " + strings.Join(last, " ")
	}
	return "rotational: lsblk " + strings.Join(last, " ")
}

func s6Version() string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "s6").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
