package hermes

import (
	"fmt"
	"strconv"
	"strings"
)

// BootLine is one line of a container-boot.log, ours or upstream's:
//
//	2026-11-25T21:00:00Z profile=coder prior_state=running action=started prior_exit=unclean policy=default@3f2a9c1b reason="desired running"
//	2026-11-25T21:00:00+0000 profile=coder prior_state=running action=started
//
// A value is either bare (up to the next space) or a Go-quoted string (ours
// quotes a profile name that is not a valid name, and always the reason).
type BootLine struct {
	Time   string
	Fields map[string]string
	Order  []string // the keys in the order they appear
}

// ParseBootLine splits a boot-log line into its time and key=value fields.
func ParseBootLine(line string) (BootLine, error) {
	ts, rest, ok := strings.Cut(line, " ")
	if !ok || ts == "" {
		return BootLine{}, fmt.Errorf("boot line %q: no time", line)
	}
	l := BootLine{Time: ts, Fields: map[string]string{}}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		key, after, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsRune(key, ' ') {
			return BootLine{}, fmt.Errorf("boot line %q: %q is not key=value", line, rest)
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return BootLine{}, fmt.Errorf("boot line %q: value of %s: %w", line, key, err)
			}
			val, _ = strconv.Unquote(q)
			rest = after[len(q):]
		} else {
			val, rest, _ = strings.Cut(after, " ")
		}
		if _, dup := l.Fields[key]; dup {
			return BootLine{}, fmt.Errorf("boot line %q: %s twice", line, key)
		}
		l.Fields[key] = val
		l.Order = append(l.Order, key)
	}
	return l, nil
}
