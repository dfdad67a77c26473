package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Poll calls cond every interval until it returns true or the deadline
// passes; it reports whether cond held. Tests poll with deadlines instead of
// sleeping.
func Poll(deadline time.Duration, cond func() bool) bool {
	end := time.Now().Add(deadline)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BootLogPath is $HERMES_HOME/logs/container-boot.log.
func (c *Container) BootLogPath() string { return filepath.Join(c.Home, "logs", "container-boot.log") }

// BootLog returns what this boot appended to the boot log so far (the
// whole file when it was rotated since the boot started).
func (c *Container) BootLog() string {
	data, err := os.ReadFile(c.BootLogPath())
	if err != nil {
		return ""
	}
	if int64(len(data)) >= c.bootStart {
		data = data[c.bootStart:]
	}
	return string(data)
}

// ScannerUp reports whether s6-svscan listens on the scandir: its control
// FIFO opens for writing without blocking only while it has a reader.
func (c *Container) ScannerUp() bool {
	f, err := os.OpenFile(c.Path(filepath.Join(c.Scandir, ".s6-svscan", "control")), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// WaitScanner waits for s6-svscan to listen on the scandir; it fails the
// test at the deadline.
func (c *Container) WaitScanner(deadline time.Duration) {
	c.t.Helper()
	if !Poll(deadline, c.ScannerUp) {
		c.t.Fatalf("boot %d: s6-svscan never came up on %s within %s; console:\n%s", c.boots, c.Scandir, deadline, tail(c.Console, 40))
	}
}

// WaitBootLog polls until this boot's log mentions profile=NAME, like the
// upstream suite's _wait_for_reconcile_log_mention, and returns this boot's
// log (whatever was there at the deadline when it never did).
func (c *Container) WaitBootLog(profile string, deadline time.Duration) string {
	var log string
	Poll(deadline, func() bool {
		log = c.BootLog()
		return BootLine(log, profile) != nil
	})
	Poll(10*time.Second, c.ScannerUp)
	return log
}

// WaitBoot waits for this boot's line about every profile named and
// returns them by profile; it fails the test when one never came.
func (c *Container) WaitBoot(deadline time.Duration, profiles ...string) map[string]map[string]string {
	c.t.Helper()
	out := map[string]map[string]string{}
	var log string
	ok := Poll(deadline, func() bool {
		log = c.BootLog()
		for _, p := range profiles {
			l := BootLine(log, p)
			if l == nil {
				return false
			}
			out[p] = l
		}
		return true
	})
	if !ok {
		c.t.Fatalf("boot %d: the boot log never mentioned every one of %v within %s; this boot's log:\n%s", c.boots, profiles, deadline, log)
	}
	c.WaitScanner(10 * time.Second)
	return out
}

// BootLine finds the last line of log about profile and returns its fields
// (time, profile, prior_state, action, prior_exit, policy, reason), or nil.
func BootLine(log, profile string) map[string]string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := ParseBootLine(lines[i])
		if f != nil && f["profile"] == profile {
			return f
		}
	}
	return nil
}

// ParseBootLine splits a boot-log line into its key=value fields (a value
// may be double-quoted); the leading timestamp is "time". nil for a line
// that is not one.
func ParseBootLine(line string) map[string]string {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	f := map[string]string{}
	ts, rest, _ := strings.Cut(line, " ")
	f["time"] = ts
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		k, v, ok := strings.Cut(rest, "=")
		if !ok || strings.ContainsAny(k, " \"") {
			return f
		}
		if strings.HasPrefix(v, `"`) {
			// quoted: up to the closing unescaped quote
			end := 1
			for end < len(v) && (v[end] != '"' || v[end-1] == '\\') {
				end++
			}
			if s, err := strconv.Unquote(v[:min(end+1, len(v))]); err == nil {
				f[k] = s
			} else {
				f[k] = strings.Trim(v[:min(end+1, len(v))], `"`)
			}
			rest = v[min(end+1, len(v)):]
			continue
		}
		val, after, _ := strings.Cut(v, " ")
		f[k] = val
		rest = after
	}
	if f["profile"] == "" {
		return nil
	}
	return f
}

// Status is s6-svstat -o's view of a slot.
type Status struct {
	Up         bool
	WantedUp   bool
	NormallyUp bool
	Ready      bool
	Pid        int // -1 when down
	ExitCode   int // -1 when up or killed by a signal
	Signal     string
	Raw        string
}

// Svstat runs s6-svstat -o inside the container on profile's slot.
func (c *Container) Svstat(profile string) (Status, error) {
	r := c.Exec("s6-svstat", "-o", "up,wantedup,normallyup,ready,pid,exitcode,signal", c.SlotInside(profile))
	if !r.OK() {
		return Status{}, fmt.Errorf("s6-svstat %s: exit %d: %s", c.SlotInside(profile), r.Code, strings.TrimSpace(r.Stderr))
	}
	f := strings.Fields(r.Stdout)
	if len(f) != 7 {
		return Status{}, fmt.Errorf("s6-svstat %s: unexpected output %q", c.SlotInside(profile), r.Stdout)
	}
	pid, _ := strconv.Atoi(f[4])
	code, _ := strconv.Atoi(f[5])
	return Status{Up: f[0] == "true", WantedUp: f[1] == "true", NormallyUp: f[2] == "true", Ready: f[3] == "true",
		Pid: pid, ExitCode: code, Signal: f[6], Raw: strings.TrimSpace(r.Stdout)}, nil
}

// WaitStatus polls s6-svstat until cond holds; it fails the test at the
// deadline, showing the last status.
func (c *Container) WaitStatus(profile string, deadline time.Duration, what string, cond func(Status) bool) Status {
	c.t.Helper()
	var st Status
	var err error
	if !Poll(deadline, func() bool {
		st, err = c.Svstat(profile)
		return err == nil && cond(st)
	}) {
		c.t.Fatalf("gateway-%s never became %s within %s: last s6-svstat %q (err %v)", profile, what, deadline, st.Raw, err)
	}
	return st
}

// WaitUp waits for s6 to report profile's gateway up.
func (c *Container) WaitUp(profile string, deadline time.Duration) Status {
	c.t.Helper()
	return c.WaitStatus(profile, deadline, "up", func(s Status) bool { return s.Up })
}

// WaitDown waits for s6 to report profile's gateway down.
func (c *Container) WaitDown(profile string, deadline time.Duration) Status {
	c.t.Helper()
	return c.WaitStatus(profile, deadline, "down", func(s Status) bool { return !s.Up })
}

// WaitPath polls until a path (mapped with Path) exists.
func (c *Container) WaitPath(inside string, deadline time.Duration) bool {
	return Poll(deadline, func() bool {
		_, err := os.Stat(c.Path(inside))
		return err == nil
	})
}

// SlotHas reports whether profile's slot holds file (e.g. "down").
func (c *Container) SlotHas(profile, file string) bool {
	_, err := os.Stat(filepath.Join(c.Slot(profile), file))
	return err == nil
}

// ProfileDir is profile's directory on the volume.
func (c *Container) ProfileDir(profile string) string {
	if profile == "default" {
		return c.Home
	}
	return filepath.Join(c.Home, "profiles", profile)
}

// WriteVolumeFile writes a file under profile's directory, owned by the
// hermes user as the container's files are.
func (c *Container) WriteVolumeFile(profile, name, data string) {
	c.t.Helper()
	p := filepath.Join(c.ProfileDir(profile), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chown(p, HermesUID, HermesUID); err != nil {
		c.t.Fatal(err)
	}
}

// State reads profile's gateway_state.json ("" fields when missing).
func (c *Container) State(profile string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(c.ProfileDir(profile), "gateway_state.json"))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(string(data), "\ufeff")), &m); err != nil {
		return nil, fmt.Errorf("gateway_state.json of %s: %w: %q", profile, err, data)
	}
	return m, nil
}

// GatewayState is gateway_state's value in profile's state file ("" when none).
func (c *Container) GatewayState(profile string) string {
	m, err := c.State(profile)
	if err != nil {
		return ""
	}
	s, _ := m["gateway_state"].(string)
	return s
}
