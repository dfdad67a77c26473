package overlay

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// Fleet is a set of stand-in gateways seeded on the volume: fast ones exit
// at once on SIGTERM, slow ones take Delay to stop.
type Fleet struct {
	Profiles []string
	Delay    map[string]time.Duration
}

// SeedFleet writes fast + slow profiles onto the volume (before a boot),
// each with gateway_state "running" as upstream hermes writes it, so that
// boot starts them.
func (c *Container) SeedFleet(fast, slow int, slowDelay time.Duration) Fleet {
	c.t.Helper()
	f := Fleet{Delay: map[string]time.Duration{}}
	add := func(prefix string, n int, d time.Duration) {
		for i := 1; i <= n; i++ {
			p := fmt.Sprintf("%s%02d", prefix, i)
			c.SeedProfile(p, GatewayCommand(p, d), "running")
			f.Profiles = append(f.Profiles, p)
			f.Delay[p] = d
		}
	}
	add("fast", fast, 0)
	add("slow", slow, slowDelay)
	return f
}

// Add seeds one more gateway: termDelay as GatewayCommand takes it.
func (f *Fleet) Add(c *Container, profile string, termDelay time.Duration) {
	c.t.Helper()
	c.SeedProfile(profile, GatewayCommand(profile, termDelay), "running")
	f.Profiles = append(f.Profiles, profile)
	f.Delay[profile] = termDelay
}

// WaitFleetUp waits until every gateway of f is in its lives-th life,
// ready, and its wrapper has persisted that. It returns the profiles that
// never got there.
func (c *Container) WaitFleetUp(f Fleet, lives int, deadline time.Duration) []string {
	var missing []string
	container.Poll(deadline, func() bool {
		missing = missing[:0]
		for _, p := range f.Profiles {
			ev := c.GatewayEvents(p)
			st, err := c.State(p)
			if ev.Lives < lives || !ev.Ready || err != nil || st.Reason != "gateway ready" {
				missing = append(missing, p)
			}
		}
		return len(missing) == 0
	})
	return missing
}

// GatewayStop is what one gateway's stop left behind.
type GatewayStop struct {
	Profile     string
	Slow        bool
	State       GatewayState
	Signals     []string      // stop signals its last life saw
	TermAfter   time.Duration // its first TERM, after docker stop began (-1: none)
	Exited      bool          // it exited by itself after the signal
	Killed      bool          // it got a signal and never exited: SIGKILLed
	LastExit    Exit          // the last record of its exit history
	Finish      time.Duration // finish's run time (when known)
	FinishKnown bool
	SlotDown    bool          // s6 saw run die before the end
	DownAfter   time.Duration // run's death, after docker stop began (-1: unknown)
	DoneAfter   time.Duration // finish's end, after docker stop began (-1: unknown)
	LoggedStops int           // "shutdown decided" lines in its s6-log so far (all files)
}

// ObserveStop reads, after a stop, what each gateway of f persisted and
// went through.
func (c *Container) ObserveStop(f Fleet, st Stopped) []GatewayStop {
	slots := c.SlotStatuses()
	var out []GatewayStop
	for _, p := range f.Profiles {
		g := GatewayStop{Profile: p, Slow: f.Delay[p] != 0, TermAfter: -1, DownAfter: -1, DoneAfter: -1}
		g.State, _ = c.State(p)
		ev := c.GatewayEvents(p)
		g.Signals, g.Exited = ev.Signals, ev.Exited
		g.Killed = len(ev.Signals) > 0 && !ev.Exited
		if !ev.SignalAt.IsZero() {
			g.TermAfter = ev.SignalAt.Sub(st.Start)
		}
		// current and the archives: s6-log killed by SIGKILL leaves current
		// unfinished, and the next s6-log archives it as @….u.
		logs, _ := filepath.Glob(c.VolumePath("logs", "gateways", p, "*"))
		for _, l := range logs {
			if data, err := os.ReadFile(l); err == nil {
				g.LoggedStops += strings.Count(string(data), "shutdown decided")
			}
		}
		if ex := c.Exits(p); len(ex) > 0 {
			g.LastExit = ex[len(ex)-1]
		}
		if s, ok := slots[p]; ok {
			g.SlotDown = s.Pid == 0
			g.Finish, g.FinishKnown = s.FinishTook()
			if s.Pid == 0 || s.Finishing {
				g.DownAfter = s.Stamp.Sub(st.Start)
			}
			if g.FinishKnown {
				g.DoneAfter = s.Ready.Sub(st.Start)
			}
		}
		out = append(out, g)
	}
	return out
}

// Tally counts values.
type Tally map[string]int

func (t Tally) String() string {
	var k []string
	for n := range t {
		k = append(k, n)
	}
	sort.Strings(k)
	var b strings.Builder
	for i, n := range k {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%d", n, t[n])
	}
	return b.String()
}
