package overlay_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/tests/overlay"
)

// TestMeasureStop is the stop campaign under the real /init: for each
// scenario, one container and volume, booted and stopped RUNS times; each
// stop's duration, stage 3's kill(-1) times, and what every gateway
// persisted and went through. Opt-in: HERMES_OVERLAY_MEASURE=1. Knobs:
//
//	HERMES_OVERLAY_FRAGMENT   another Dockerfile fragment (a stop mechanism to try)
//	HERMES_OVERLAY_CONTEXT    extra build-context directories, colon-separated
//	HERMES_OVERLAY_ENV        docker run -e overrides: K=V,K=V
//	HERMES_OVERLAY_RUNS       stops per scenario (default 5)
//	HERMES_OVERLAY_SCENARIOS  default idle,fast6,slow6,mixed12,fast20 (also slow1, hung1:
//	                          a gateway that ignores SIGTERM)
//	HERMES_OVERLAY_REPORT     append one JSON line per stop to this file
//	HERMES_OVERLAY_LABEL      names the configuration in the report
//	HERMES_OVERLAY_STOP_TIMEOUT  docker stop -t (default 60s)
func TestMeasureStop(t *testing.T) {
	if os.Getenv("HERMES_OVERLAY_MEASURE") != "1" {
		t.Skip("measurement campaign: set HERMES_OVERLAY_MEASURE=1 (minutes)")
	}
	runs := 5
	if v := os.Getenv("HERMES_OVERLAY_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("HERMES_OVERLAY_RUNS=%q: want a positive number", v)
		}
		runs = n
	}
	scenarios := "idle,fast6,slow6,mixed12,fast20"
	if v := os.Getenv("HERMES_OVERLAY_SCENARIOS"); v != "" {
		scenarios = v
	}
	env := map[string]string{}
	if v := os.Getenv("HERMES_OVERLAY_ENV"); v != "" {
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("HERMES_OVERLAY_ENV: %q is not K=V", kv)
			}
			env[k] = val
		}
	}
	var ctx []string
	if v := os.Getenv("HERMES_OVERLAY_CONTEXT"); v != "" {
		ctx = strings.Split(v, ":")
	}
	label := os.Getenv("HERMES_OVERLAY_LABEL")
	var stopTimeout time.Duration
	if v := os.Getenv("HERMES_OVERLAY_STOP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("HERMES_OVERLAY_STOP_TIMEOUT=%q: %v", v, err)
		}
		stopTimeout = d
	}
	var report *os.File
	if p := os.Getenv("HERMES_OVERLAY_REPORT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		report = f
	}
	for _, sc := range strings.Split(scenarios, ",") {
		fast, slow := 0, 0
		switch sc {
		case "idle":
		case "fast6":
			fast = 6
		case "slow6":
			slow = 6
		case "mixed12":
			fast, slow = 6, 6
		case "fast20":
			fast = 20
		case "slow1":
			slow = 1
		case "hung1":
		default:
			t.Fatalf("unknown scenario %q", sc)
		}
		t.Run(sc, func(t *testing.T) {
			c := overlay.New(t, overlay.Options{
				Fragment: os.Getenv("HERMES_OVERLAY_FRAGMENT"), Context: ctx, Env: env, StopTimeout: stopTimeout,
			})
			fl := c.SeedFleet(fast, slow, 6*time.Second)
			if sc == "hung1" {
				fl.Add(c, "hung01", -1)
			}
			var stops, termAll, killAll, finish, lastDown, lastDone []time.Duration
			triggers, states := overlay.Tally{}, overlay.Tally{}
			killed, notBack, sigpipe, unlogged := 0, 0, 0, 0
			for run := 1; run <= runs; run++ {
				c.Start()
				c.WaitBooted(60 * time.Second)
				if miss := c.WaitFleetUp(fl, run, 60*time.Second); len(miss) > 0 {
					notBack += len(miss)
					t.Logf("run %d: not back after the restart: %v", run, miss)
					for _, p := range miss {
						c.Supervisor(overlay.HermesUID, "-p", p, "gateway", "start")
					}
					if miss := c.WaitFleetUp(fl, run, 30*time.Second); len(miss) > 0 {
						t.Fatalf("run %d: %v never came up", run, miss)
					}
				}
				// s6-supervise restarts a service at most once a second: a
				// container stopped within a second of its boot waits for
				// s6-linux-init-shutdownd's restart (stage 4). Real
				// containers live longer.
				if u := c.Uptime(); u < 2*time.Second {
					time.Sleep(2*time.Second - u)
				}
				c.StartSentinel("term", false)
				c.StartSentinel("kill", true)
				st := c.Stop()
				gs := c.ObserveStop(fl, st)
				stops = append(stops, st.After)
				if st.TermAll >= 0 {
					termAll = append(termAll, st.TermAll)
				}
				if st.KillAll >= 0 {
					killAll = append(killAll, st.KillAll)
				}
				type gwRec struct {
					Profile, GatewayState, Desired, Trigger, Reason string
					Slow, Exited, Killed                            bool
					TermMs, FinishMs, DownMs, DoneMs                float64
					LastExitSignal                                  int
					LastExitTrigger                                 string
				}
				var recs []gwRec
				var ld, lf time.Duration = -1, -1
				for _, g := range gs {
					ld, lf = max(ld, g.DownAfter), max(lf, g.DoneAfter)
					triggers[g.State.Trigger]++
					states[g.State.Gateway+"/"+g.State.Desired]++
					if g.Killed {
						killed++
					}
					if g.LoggedStops < run {
						unlogged++
					}
					if g.LastExit.Signal == 13 {
						sigpipe++
					}
					if g.FinishKnown {
						finish = append(finish, g.Finish)
					}
					recs = append(recs, gwRec{Profile: g.Profile, GatewayState: g.State.Gateway, Desired: g.State.Desired,
						Trigger: g.State.Trigger, Reason: g.State.Reason, Slow: g.Slow, Exited: g.Exited, Killed: g.Killed,
						TermMs: ms(g.TermAfter), FinishMs: msIf(g.Finish, g.FinishKnown), DownMs: ms(g.DownAfter), DoneMs: ms(g.DoneAfter),
						LastExitSignal:  g.LastExit.Signal,
						LastExitTrigger: g.LastExit.Trigger})
				}
				if ld >= 0 {
					lastDown = append(lastDown, ld)
				}
				if lf >= 0 {
					lastDone = append(lastDone, lf)
				}
				if run == 1 {
					var b strings.Builder
					for _, l := range st.Lines {
						fmt.Fprintf(&b, "  %+8.3fs %s\n", l.At.Sub(st.Start).Seconds(), l.Text)
					}
					t.Logf("stage 3 as printed (run 1; kill(-1,TERM) at %s, kill(-1,KILL) at %s, PID 1 gone at %s):\n%s",
						st.TermAll.Round(time.Millisecond), st.KillAll.Round(time.Millisecond), st.After.Round(time.Millisecond), b.String())
				}
				t.Logf("run %d: stop %s killed-by-runtime=%v kill(-1,TERM) %s kill(-1,KILL) %s", run,
					st.After.Round(time.Millisecond), st.Killed, st.TermAll.Round(time.Millisecond), st.KillAll.Round(time.Millisecond))
				if report != nil {
					line, _ := json.Marshal(map[string]any{
						"label": label, "scenario": sc, "run": run, "stop_ms": ms(st.After), "runtime_killed": st.Killed,
						"term_all_ms": ms(st.TermAll), "kill_all_ms": ms(st.KillAll), "gateways": recs,
						"last_down_ms": ms(ld), "last_done_ms": ms(lf),
						"env": env, "fragment": filepath.Base(os.Getenv("HERMES_OVERLAY_FRAGMENT")),
					})
					report.Write(append(line, '\n'))
				}
			}
			t.Logf("SUMMARY %s %s: stop %s; kill(-1,TERM) %s; kill(-1,KILL) %s; last run exit %s; last finish end %s; finish %s; triggers %s; states %s; SIGKILLed gateways %d; not back %d; signal-13 exits %d; stops missing from the gateway logs %d",
				label, sc, overlay.Summarize(stops), overlay.Summarize(termAll), overlay.Summarize(killAll),
				overlay.Summarize(lastDown), overlay.Summarize(lastDone),
				overlay.Summarize(finish), triggers, states, killed, notBack, sigpipe, unlogged)
		})
	}
}

func ms(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return float64(d.Microseconds()) / 1000
}

func msIf(d time.Duration, ok bool) float64 {
	if !ok {
		return -1
	}
	return ms(d)
}
