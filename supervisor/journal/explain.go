package journal

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// Explained is an entry and its explanation in plain words.
type Explained struct {
	Entry
	Text string `json:"text"`
}

// ExplainAll explains es (oldest first, any mix of profiles) and returns
// the explanations newest first. Times are shown in loc; withProfile puts
// the profile's name after the time (for a list of several profiles).
//
// A boot decision is explained with what ended the profile's previous life
// when the journal holds it: the last shutdown or exit decision of the same
// profile before the boot.
func ExplainAll(es []Entry, loc *time.Location, withProfile bool) []Explained {
	out := make([]Explained, len(es))
	lastEnd := map[string]*Entry{}
	for i := range es {
		e := &es[i]
		out[len(es)-1-i] = Explained{Entry: *e, Text: Explain(*e, lastEnd[e.Profile], loc, withProfile)}
		if e.Kind != hostabi.KindBoot {
			lastEnd[e.Profile] = e
		}
	}
	return out
}

// Explain says in plain words what was decided and why, for example
//
//	2026-11-25 21:03 boot: registered down because desired_state=stopped (operator stop at 20:58 by pid 4121); policy default@3f2a9c1b: desired stopped
//
// prior is the profile's last shutdown or exit decision before e (nil when
// unknown); it is used for boot decisions only.
func Explain(e Entry, prior *Entry, loc *time.Location, withProfile bool) string {
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	b.WriteString(e.Time.In(loc).Format("2006-01-02 15:04"))
	if withProfile {
		b.WriteString(" " + e.Profile)
	}
	b.WriteString(" " + e.Kind.String() + ": ")
	in, d := &e.Input, &e.Decision
	if e.Refused != "" {
		// No policy decided: say what the supervisor did, not what a
		// gateway that never started did.
		b.WriteString("gateway not started: " + d.Reason)
		b.WriteString("; the slot stays down until `supervisor -p " + e.Profile + " gateway start`")
		return b.String()
	}
	switch e.Kind {
	case hostabi.KindBoot:
		b.WriteString(bootAction(d.Action) + " because " + bootFacts(in))
		if prior != nil {
			b.WriteString(" (" + ending(prior, e.Time, loc) + ")")
		}
	case hostabi.KindShutdown:
		b.WriteString("persisted gateway_state=" + d.State.String())
		if d.Desired != hostabi.StateNone {
			b.WriteString(", desired_state=" + d.Desired.String())
		}
		fmt.Fprintf(&b, ", exit %d because %s", d.ExitCode, shutdownCause(&e, loc))
		if in.Uptime > 0 {
			b.WriteString(" after " + uptime(in.Uptime) + " up")
		}
		if in.Phase != hostabi.PhaseNone {
			b.WriteString(" in phase " + in.Phase.String())
		}
	case hostabi.KindExit:
		b.WriteString(exitAction(d) + " because the gateway " + ended(in.ExitCode, in.Signal))
		if in.Uptime > 0 {
			b.WriteString(" after " + uptime(in.Uptime) + " up")
		}
		b.WriteString(earlierExits(in, loc))
	}
	b.WriteString("; ")
	if e.Fallback {
		fmt.Fprintf(&b, "native fallback decided (%s); ", e.FallbackReason)
	}
	b.WriteString("policy " + e.Policy)
	if d.Reason != "" {
		b.WriteString(": " + d.Reason)
	}
	return b.String()
}

func bootAction(a hostabi.Action) string {
	switch a {
	case hostabi.ActionStart:
		return "started"
	case hostabi.ActionDown:
		return "registered down"
	case hostabi.ActionSkip:
		return "skipped (no slot)"
	}
	return a.String()
}

func bootFacts(in *hostabi.Input) string {
	var s string
	switch {
	case in.State == hostabi.StateUnreadable:
		s = "the state file was unreadable"
	case in.Desired != hostabi.StateNone:
		s = "desired_state=" + in.Desired.String()
	case in.State == hostabi.StateNone:
		s = "no state was recorded"
	default:
		s = "gateway_state=" + in.State.String() + " (no desired_state recorded)"
	}
	if in.PriorExit == hostabi.PriorExitUnclean {
		s += ", the previous life ended uncleanly"
	}
	return s
}

// ending says how a profile's previous life ended, for a boot explanation.
func ending(p *Entry, now time.Time, loc *time.Location) string {
	at := clock(p.Time, now, loc)
	if p.Refused != "" {
		return "the gateway was not started at " + at + ": no policy could decide for it"
	}
	if p.Kind == hostabi.KindExit {
		return "the gateway " + ended(p.Input.ExitCode, p.Input.Signal) + " at " + at + ", " + exitAction(&p.Decision)
	}
	switch p.Input.Trigger {
	case hostabi.TriggerOperator:
		return "operator stop at " + at + by(p)
	case hostabi.TriggerRestart:
		return "operator restart at " + at + by(p)
	}
	return signalName(p.Input.Signal) + " without a planned-stop marker at " + at
}

func by(e *Entry) string {
	if e.Stopper > 0 {
		return " by pid " + strconv.Itoa(e.Stopper)
	}
	return ""
}

func shutdownCause(e *Entry, loc *time.Location) string {
	in := &e.Input
	marker := ""
	if e.Stopper > 0 {
		marker = "; marker by pid " + strconv.Itoa(e.Stopper)
		if !e.MarkerAt.IsZero() {
			marker += " at " + clock(e.MarkerAt, e.Time, loc)
		}
	}
	switch in.Trigger {
	case hostabi.TriggerOperator:
		return "of an operator stop (" + signalName(in.Signal) + marker + ")"
	case hostabi.TriggerRestart:
		return "of an operator restart (" + signalName(in.Signal) + marker + ")"
	}
	return signalName(in.Signal) + " arrived without a planned-stop marker (container restart, OOM or kill)"
}

func exitAction(d *hostabi.Decision) string {
	switch {
	case d.Action == hostabi.ActionStop:
		return "stopped for good"
	case d.Action == hostabi.ActionRestart && d.Delay > 0:
		return "restart in " + d.Delay.String()
	case d.Action == hostabi.ActionRestart:
		return "restart at once"
	}
	return d.Action.String()
}

func ended(code, sig int32) string {
	if sig != 0 {
		return "was killed by " + signalName(sig)
	}
	return "exited with code " + strconv.Itoa(int(code))
}

// earlierExits counts the exits by themselves in the history the policy
// saw, for an exit explanation: within the policy's window when its
// parameters name one (see Window), else since the oldest of them. It
// claims no window the policy did not say it uses.
func earlierExits(in *hostabi.Input, loc *time.Location) string {
	window, key, windowed := Window(in.Params)
	n := 0
	var oldest time.Time
	for _, r := range in.History {
		if r.Trigger != hostabi.TriggerExited || r.Time.After(in.Now) {
			continue
		}
		if windowed && in.Now.Sub(r.Time) > window {
			continue
		}
		if n == 0 || r.Time.Before(oldest) {
			oldest = r.Time
		}
		n++
	}
	switch {
	case n == 0:
		return ""
	case windowed:
		return fmt.Sprintf(" (%d earlier exit%s by itself in the last %s, policy.params.%s)", n, plural(n), window, key)
	}
	return fmt.Sprintf(" (%d earlier exit%s by itself since %s)", n, plural(n), clock(oldest, in.Now, loc))
}

// Window is the window a policy counts crashes in, when its parameters
// name one: a parameter whose key is "window" or ends in "window" (after
// a "." or "_"), holding a duration string ("10m") or a number of seconds.
// key is the parameter's key; ok is false when no parameter names one.
func Window(ps hostabi.Params) (window time.Duration, key string, ok bool) {
	for _, p := range ps {
		k := p.Key
		if k != "window" && !strings.HasSuffix(k, "_window") && !strings.HasSuffix(k, ".window") {
			continue
		}
		var d time.Duration
		switch p.Type {
		case hostabi.ParamString:
			v, err := time.ParseDuration(p.Str)
			if err != nil {
				continue
			}
			d = v
		case hostabi.ParamInt:
			d = time.Duration(p.Int) * time.Second
		case hostabi.ParamFloat:
			d = time.Duration(p.Float * float64(time.Second))
		default:
			continue
		}
		if d > 0 {
			return d, k, true
		}
	}
	return 0, "", false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func uptime(d time.Duration) string {
	if d >= time.Second {
		d = d.Round(time.Second)
	} else if d >= time.Millisecond {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// clock shows t as a time of day when it falls on the same day as ref, as
// a date and time otherwise.
func clock(t, ref time.Time, loc *time.Location) string {
	t, ref = t.In(loc), ref.In(loc)
	if t.YearDay() == ref.YearDay() && t.Year() == ref.Year() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

var signalNames = map[int32]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}

func signalName(s int32) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	if s == 0 {
		return "a stop"
	}
	return "signal " + strconv.Itoa(int(s))
}
