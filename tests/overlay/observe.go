package overlay

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ProfileDir is a profile's directory on the volume (host side).
func (c *Container) ProfileDir(profile string) string {
	if profile == "default" {
		return c.Volume
	}
	return c.VolumePath("profiles", profile)
}

// ProfileDirInside is a profile's directory as the container sees it.
func (c *Container) ProfileDirInside(profile string) string {
	if profile == "default" {
		return c.VolumeAt()
	}
	return path.Join(c.VolumeAt(), "profiles", profile)
}

// GatewayState is what gateway_state.json says (the fields the table is
// about), with the raw file.
type GatewayState struct {
	Gateway  string `json:"gateway_state"`
	Desired  string `json:"desired_state"`
	Trigger  string `json:"trigger"`
	Reason   string `json:"reason"`
	ExitCode *int   `json:"exit_code"`
	Raw      string `json:"-"`
}

func (s GatewayState) String() string {
	return fmt.Sprintf("gateway_state=%s desired_state=%s trigger=%s reason=%q", s.Gateway, s.Desired, s.Trigger, s.Reason)
}

// State reads profile's gateway_state.json.
func (c *Container) State(profile string) (GatewayState, error) {
	p := filepath.Join(c.ProfileDir(profile), "gateway_state.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return GatewayState{}, err
	}
	var s GatewayState
	if err := json.Unmarshal(data, &s); err != nil {
		return GatewayState{}, fmt.Errorf("%s: %w", p, err)
	}
	s.Raw = string(data)
	return s, nil
}

// Exit is one record of state/gateway.exits.json.
type Exit struct {
	Time     string `json:"time"`
	ExitCode int    `json:"exit_code"`
	Signal   int    `json:"signal"`
	Trigger  string `json:"trigger"`
	Verdict  string `json:"verdict"`
}

// Exits reads profile's exit history, oldest first.
func (c *Container) Exits(profile string) []Exit {
	data, err := os.ReadFile(filepath.Join(c.ProfileDir(profile), "state", "gateway.exits.json"))
	if err != nil {
		return nil
	}
	var h struct {
		Exits []Exit `json:"exits"`
	}
	json.Unmarshal(data, &h)
	return h.Exits
}

// Events is what a stand-in gateway recorded about one life (the last one
// in its events file): the stop signals it got (with the time) and whether
// it exited by itself afterwards (else it was SIGKILLed, or is still up).
type Events struct {
	Lives    int
	Ready    bool // the last life reported readiness
	Signals  []string
	SignalAt time.Time // first TERM of the last life
	Exited   bool
	Raw      string
}

// GatewayEvents reads the events file a stand-in configured by
// GatewayCommand writes.
func (c *Container) GatewayEvents(profile string) Events {
	data, _ := os.ReadFile(filepath.Join(c.ProfileDir(profile), "events.log"))
	ev := Events{Raw: string(data)}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "start":
			ev.Lives++
			ev.Signals, ev.Exited, ev.SignalAt, ev.Ready = nil, false, time.Time{}, false
		case "ready":
			ev.Ready = true
		case "signal":
			if len(f) >= 3 {
				ev.Signals = append(ev.Signals, f[1])
				if ns, err := strconv.ParseInt(f[2], 10, 64); err == nil && ev.SignalAt.IsZero() {
					ev.SignalAt = time.Unix(0, ns)
				}
			}
		case "exit":
			ev.Exited = true
		}
	}
	return ev
}

// GatewayCommand is a profile.toml [gateway] command running the stand-in
// so that it records its events on the volume and, when termDelay > 0,
// takes that long to stop after SIGTERM; when termDelay < 0 it ignores
// SIGTERM (only SIGKILL ends it).
func GatewayCommand(profile string, termDelay time.Duration) string {
	dir := "/opt/data/profiles/" + profile
	if profile == "default" {
		dir = "/opt/data"
	}
	args := []string{"/usr/local/bin/standin-gateway", "--notify-after", "100ms",
		"--events", dir + "/events.log", "--state-file", dir + "/gateway_state.json"}
	switch {
	case termDelay < 0:
		args = append(args, "--ignore-term")
	case termDelay > 0:
		args = append(args, "--term-delay", termDelay.String())
	}
	args = append(args, "--")
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return "[gateway]\ncommand = [" + strings.Join(q, ", ") + "]\n"
}

// SeedProfile writes a profile onto the volume from outside, as a volume
// carried over from another container would have it: profile.toml (the
// marker) and, when state is not "", a gateway_state.json as upstream
// hermes writes it (gateway_state only, no desired_state).
func (c *Container) SeedProfile(profile, profileToml, state string) {
	c.t.Helper()
	dir := c.ProfileDir(profile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	files := map[string]string{"profile.toml": profileToml}
	if state != "" {
		files["gateway_state.json"] = fmt.Sprintf("{\"gateway_state\": %q}\n", state)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			c.t.Fatal(err)
		}
		if err := os.Chown(p, HermesUID, HermesUID); err != nil {
			c.t.Fatal(err)
		}
	}
	for d := dir; d != c.Volume && strings.HasPrefix(d, c.Volume); d = filepath.Dir(d) {
		if err := os.Chown(d, HermesUID, HermesUID); err != nil {
			c.t.Fatal(err)
		}
	}
}

// SlotStatus is s6-supervise's status file of a slot, read from /run after
// the stop (the harness keeps the container's mount namespace).
type SlotStatus struct {
	Dir       string    // the slot's directory at the end (stage 3 renames it)
	Stamp     time.Time // when the service last changed state (run's death)
	Ready     time.Time // when it became ready or, down, when finish ended
	Pid       int
	Finishing bool
	WantUp    bool
	ReadyFlag bool
}

// FinishTook is how long finish ran after run died, when both are known.
func (s SlotStatus) FinishTook() (time.Duration, bool) {
	if s.Pid != 0 || s.Finishing || !s.ReadyFlag || s.Ready.Before(s.Stamp) {
		return 0, false
	}
	return s.Ready.Sub(s.Stamp), true
}

// taiUnix converts a TAI64N label (skalibs) to Unix time: TAI is 37 s
// ahead of UTC since 2017 (skalibs' leap second table; the labels were
// measured 37 s ahead of the host's clock).
func taiUnix(b []byte) time.Time {
	secs := binary.BigEndian.Uint64(b[:8]) - (1 << 62) - 37
	nano := binary.BigEndian.Uint32(b[8:12])
	return time.Unix(int64(secs), int64(nano))
}

// ParseStatus reads an s6 2.13 supervise/status file (43 bytes).
func ParseStatus(data []byte) (SlotStatus, error) {
	if len(data) < 43 {
		return SlotStatus{}, fmt.Errorf("status file of %d bytes, want 43", len(data))
	}
	return SlotStatus{
		Stamp:     taiUnix(data[0:12]),
		Ready:     taiUnix(data[12:24]),
		Pid:       int(binary.BigEndian.Uint64(data[24:32])),
		Finishing: data[42]&2 != 0,
		WantUp:    data[42]&4 != 0,
		ReadyFlag: data[42]&8 != 0,
	}, nil
}

// SlotStatuses returns the status of every gateway slot in /run/service
// by profile, wherever stage 3 renamed it.
func (c *Container) SlotStatuses() map[string]SlotStatus {
	out := map[string]SlotStatus{}
	ents, _ := os.ReadDir(c.Path("/run/service"))
	for _, e := range ents {
		name := e.Name()
		// stage 3 renames a slot to .s6-linux-init-shutdownd:NAME:XXXXXX
		if rest, ok := strings.CutPrefix(name, ".s6-linux-init-shutdownd:"); ok {
			if i := strings.LastIndex(rest, ":"); i > 0 {
				rest = rest[:i]
			}
			name = rest
		}
		profile, ok := strings.CutPrefix(name, "gateway-")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(c.Path("/run/service"), e.Name(), "supervise", "status"))
		if err != nil {
			continue
		}
		st, err := ParseStatus(data)
		if err != nil {
			continue
		}
		st.Dir = e.Name()
		out[profile] = st
	}
	return out
}

// Stats are the median, minimum and maximum of some durations.
type Stats struct {
	N                int
	Median, Min, Max time.Duration
}

func (s Stats) String() string {
	if s.N == 0 {
		return "n=0"
	}
	return fmt.Sprintf("median %s (min %s, max %s, n=%d)", s.Median.Round(time.Millisecond), s.Min.Round(time.Millisecond), s.Max.Round(time.Millisecond), s.N)
}

// Summarize computes Stats.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stats{N: len(s), Median: m, Min: s[0], Max: s[len(s)-1]}
}
