// Command standin-gateway stands in for a hermes gateway in tests and the
// demo. It behaves as its flags say: when it reports readiness, what it does
// on SIGTERM and SIGHUP, when it crashes, which phase it reports, and it
// records what happened to it in files a test can read.
//
// It speaks the gateway contract of supervisor/runner: lines written to the
// descriptor named by $HERMES_NOTIFY_FD ("phase=starting", "ready",
// "phase=degraded", "phase=draining"). It imports nothing of this
// repository and must not: it is a separate program, like a real gateway.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("standin-gateway", flag.ContinueOnError)
	notifyAfter := fs.Duration("notify-after", -1, "write \"ready\" to $HERMES_NOTIFY_FD after this long (negative: never; then say nothing and let ready_after apply)")
	announce := fs.Bool("announce", false, "say \"phase=starting\" at once: the supervisor then waits for \"ready\" instead of ready_after")
	termExit := fs.Int("term-exit", 0, "exit code on SIGTERM, SIGINT or SIGQUIT")
	termDelay := fs.Duration("term-delay", 0, "how long shutting down takes after SIGTERM")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM, SIGINT and SIGQUIT (only SIGKILL ends it)")
	crashAfter := fs.Duration("crash-after", -1, "exit by itself after this long (negative: never)")
	crashCode := fs.Int("crash-code", 1, "exit code of the crash; with -crash-signal, the signal it kills itself with instead")
	crashSignal := fs.Int("crash-signal", 0, "kill itself with this signal when crashing (0: exit with -crash-code)")
	phase := fs.String("phase", "", "report this phase (degraded, draining) after -phase-after")
	phaseAfter := fs.Duration("phase-after", 0, "when to report -phase")
	heartbeat := fs.String("heartbeat", "", "file to write the current time to every -heartbeat-every")
	heartbeatEvery := fs.Duration("heartbeat-every", 100*time.Millisecond, "heartbeat period")
	events := fs.String("events", "", "file to append one line per event to: start, ready, phase, signal NAME <unix ns> (state=<gateway_state at that moment>), exit")
	stateFile := fs.String("state-file", "", "gateway_state.json to read when a signal arrives, recorded in -events (shows what was persisted before the signal)")
	printArgs := fs.Bool("print-args", false, "print the arguments and the notification variable to stdout at start")
	// Handle signals before anything else, so that none arrives before the
	// handler (a stop forwarded right after readiness must be recorded).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ev := func(format string, a ...any) {
		if *events == "" {
			return
		}
		f, err := os.OpenFile(*events, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "standin-gateway:", err)
			return
		}
		fmt.Fprintf(f, format+"\n", a...)
		f.Close()
	}
	if *printArgs {
		fmt.Printf("args=%q %s=%q HERMES_PROFILE=%q\n", fs.Args(), "HERMES_NOTIFY_FD", os.Getenv("HERMES_NOTIFY_FD"), os.Getenv("HERMES_PROFILE"))
	}
	ev("start pid=%d args=%s", os.Getpid(), strings.Join(fs.Args(), " "))

	var notify *os.File
	if v := os.Getenv("HERMES_NOTIFY_FD"); v != "" {
		if fd, err := strconv.Atoi(v); err == nil && fd > 2 {
			notify = os.NewFile(uintptr(fd), "notify")
		}
	}
	say := func(line string) {
		if notify != nil {
			fmt.Fprintln(notify, line)
		}
	}
	if *announce {
		say("phase=starting")
	}

	timer := func(d time.Duration) <-chan time.Time {
		if d < 0 {
			return nil
		}
		return time.After(d)
	}
	readyC, crashC := timer(*notifyAfter), timer(*crashAfter)
	var phaseC <-chan time.Time
	if *phase != "" {
		phaseC = timer(*phaseAfter)
	}
	var beat <-chan time.Time
	if *heartbeat != "" {
		t := time.NewTicker(*heartbeatEvery)
		defer t.Stop()
		beat = t.C
		os.WriteFile(*heartbeat, []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"), 0o644)
	}
	for {
		select {
		case <-readyC:
			say("ready")
			ev("ready")
		case <-phaseC:
			say("phase=" + *phase)
			ev("phase %s", *phase)
		case <-beat:
			os.WriteFile(*heartbeat, []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"), 0o644)
		case <-crashC:
			ev("crash code=%d signal=%d", *crashCode, *crashSignal)
			if *crashSignal != 0 {
				signal.Reset()
				syscall.Kill(os.Getpid(), syscall.Signal(*crashSignal))
				time.Sleep(time.Second)
			}
			return *crashCode
		case s := <-sigs:
			at := time.Now().UnixNano()
			st := ""
			if *stateFile != "" {
				if b, err := os.ReadFile(*stateFile); err == nil {
					st = gatewayState(b)
				}
			}
			sig := s.(syscall.Signal)
			ev("signal %s %d state=%s", sigName(sig), at, st)
			if sig == syscall.SIGHUP || *ignoreTerm {
				continue
			}
			time.Sleep(*termDelay)
			ev("exit %d", *termExit)
			return *termExit
		}
	}
}

// gatewayState pulls the gateway_state value out of a state file without a
// JSON library dependency worth mentioning.
func gatewayState(b []byte) string {
	s := string(b)
	i := strings.Index(s, `"gateway_state"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(`"gateway_state"`):]
	j := strings.Index(s, `"`)
	if j < 0 {
		return ""
	}
	s = s[j+1:]
	k := strings.Index(s, `"`)
	if k < 0 {
		return ""
	}
	return s[:k]
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGHUP:
		return "HUP"
	}
	return strconv.Itoa(int(s))
}
