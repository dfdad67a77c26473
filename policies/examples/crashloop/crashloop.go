package main

import (
	"fmt"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/hostabi/guest"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

// The rules, in the order exit applies them.
const (
	// FirstDelay is the wait before restarting after a first crash; it doubles
	// with every consecutive crash, up to MaxDelay.
	FirstDelay = time.Second
	MaxDelay   = 5 * time.Minute
	// Healthy is how long a life must last to reset the crash count.
	Healthy = 10 * time.Minute
	// LoopCrashes crashes within LoopWindow (the current one included) are a
	// crash loop: stop for good. The defaults of the parameters max_crashes
	// and window.
	LoopCrashes = 5
	LoopWindow  = 10 * time.Minute
)

// The parameters: the crash loop's window and count.
var (
	window     = guest.Duration("window", LoopWindow)
	maxCrashes = guest.Int("max_crashes", LoopCrashes)
)

// ReasonCrashLoop is the boot reason for a profile whose last life ended in a crash loop.
const ReasonCrashLoop = "crash loop"

// crashed reports whether a gateway life ended in a crash: killed by a
// signal, or an exit status other than 0 and 78 (EX_CONFIG).
func crashed(code, signal int32) bool {
	return signal != 0 || (code != 0 && code != fallback.ExitConfig)
}

// crashedRecord reports whether a history record is a crash: the gateway
// ended by itself (a stop signal or an operator is no crash) and crashed.
func crashedRecord(r hostabi.ExitRecord) bool {
	return r.Trigger == hostabi.TriggerExited && crashed(r.ExitCode, r.Signal)
}

// boot registers down a profile whose last life ended in a crash loop (a
// crash answered with stop); any other profile boots like the default.
func boot(in *hostabi.Input) hostabi.Decision {
	if n := len(in.History); n > 0 {
		last := in.History[n-1]
		if crashedRecord(last) && last.Verdict == hostabi.ActionStop {
			return hostabi.Decision{Action: hostabi.ActionDown, Reason: ReasonCrashLoop}
		}
	}
	return fallback.Boot(in)
}

// exit restarts a crashed gateway after 1 s, 2 s, 4 s ... (at most 5 min) for
// its 1st, 2nd, 3rd ... consecutive crash, and stops it for good at the 5th
// crash within 10 min (max_crashes within window). A life of 10 min or more
// ends a run of crashes, and so does a stop. Exits that are not crashes
// decide like the default.
func exit(in *hostabi.Input) hostabi.Decision {
	if !crashed(in.ExitCode, in.Signal) {
		return fallback.Exit(in)
	}
	loopWindow, loopCrashes := window.From(in), int(maxCrashes.From(in))
	if loopWindow <= 0 {
		loopWindow = LoopWindow
	}
	if loopCrashes < 1 {
		loopCrashes = LoopCrashes
	}
	consecutive, recent := 1, 1
	if in.Uptime < Healthy {
		for i := len(in.History) - 1; i >= 0; i-- {
			r := in.History[i]
			if !crashedRecord(r) || r.Verdict == hostabi.ActionStop {
				break
			}
			consecutive++
			if in.Now.Sub(r.Time) <= loopWindow {
				recent++
			}
			if r.Uptime >= Healthy {
				break
			}
		}
	}
	if recent >= loopCrashes {
		return hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped,
			Reason: fmt.Sprintf("crash loop: %d crashes within %s: stop", recent, loopWindow)}
	}
	delay := FirstDelay
	for i := 1; i < consecutive && delay < MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, MaxDelay)
	return hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: delay,
		Reason: fmt.Sprintf("crash %d in a row: restart in %s", consecutive, delay)}
}
