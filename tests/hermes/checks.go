package hermes

import (
	"os"
	"path/filepath"
	"strings"
)

// Life is one gateway life as hermes records it: its pid (in the
// gateway's PID namespace) and its start time (field 22 of /proc/PID/stat).
// A fresh container may give the next gateway the same pid.
type Life struct{ Pid, Start int }

// RunningLife is the life hermes' own view shows running: gateway_state
// running, a runtime status naming a pid and a start time, that pid live
// and holding gateway.lock, and desired_state running (the supervisor
// records it when the gateway is ready). ok is false otherwise, and when
// the life is not (the previous one).
func (v View) RunningLife(not Life) (l Life, ok bool) {
	rt := v.Map("runtime_status")
	if v.String("gateway_state") != "running" || rt == nil {
		return Life{}, false
	}
	p, _ := rt["pid"].(float64)
	st, _ := rt["start_time"].(float64)
	l = Life{int(p), int(st)}
	return l, l.Pid > 0 && l != not && v.Int("running_pid") == l.Pid && v["lock_active"] == true && rt["desired_state"] == "running"
}

// GatewayLogs are a gateway's log files: every file of its s6-log
// directory (archives too: a logger killed mid-line leaves its current
// file to be archived) and its own logs in its profile directory.
func GatewayLogs(logDir, profileDir string) []string {
	files, _ := filepath.Glob(filepath.Join(logDir, "*"))
	for _, f := range []string{"gateway.log", "errors.log", "gateway-exit-diag.log"} {
		files = append(files, filepath.Join(profileDir, "logs", f))
	}
	return files
}

// Fought lists, as "file: fight", every line of Fights the readable files
// hold, and counts the files read.
func Fought(files []string) (found []string, read int) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		read++
		for _, bad := range Fights {
			if strings.Contains(string(b), bad) {
				found = append(found, f+": "+bad)
			}
		}
	}
	return found, read
}
