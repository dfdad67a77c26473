package overlay

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Instruction is one Dockerfile instruction of the fragment.
type Instruction struct {
	Line int    // first line, 1-based
	Cmd  string // upper case: ARG, ADD, COPY, RUN, ENV, VOLUME, ENTRYPOINT, ...
	Args string // the rest, continuation lines joined, comment lines removed
}

func (in Instruction) String() string { return fmt.Sprintf("line %d: %s %s", in.Line, in.Cmd, in.Args) }

// ParseFragment splits a Dockerfile (fragment) into instructions the way
// Docker's parser does for what the fragment uses: comment lines are
// dropped, also inside a continuation, and a trailing backslash joins the
// next line.
func ParseFragment(text string) ([]Instruction, error) {
	var out []Instruction
	var cur *Instruction
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur == nil {
			if trimmed == "" {
				continue
			}
			cmd, rest, _ := strings.Cut(trimmed, " ")
			cur = &Instruction{Line: i + 1, Cmd: strings.ToUpper(cmd)}
			line = rest
		} else if trimmed == "" {
			continue
		}
		cont := strings.HasSuffix(line, `\`)
		line = strings.TrimSuffix(line, `\`)
		if cur.Args != "" {
			cur.Args += " "
		}
		cur.Args += strings.TrimSpace(line)
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("overlay: fragment ends inside a continued %s (line %d)", cur.Cmd, cur.Line)
	}
	return out, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expand replaces ${NAME} and $NAME with vars (ARG and ENV values), as
// Docker does in ADD, COPY and ENV.
func expand(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		return vars[name]
	})
}

// parseEnv reads ENV's arguments: KEY=VALUE pairs (a value may be double-
// or single-quoted), or the legacy "KEY VALUE" form.
func parseEnv(args string, vars map[string]string) ([][2]string, error) {
	if k, v, ok := strings.Cut(args, " "); ok && !strings.Contains(k, "=") {
		return [][2]string{{k, expand(strings.TrimSpace(v), vars)}}, nil
	}
	var out [][2]string
	s := strings.TrimSpace(args)
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("overlay: ENV %q: expected KEY=VALUE", args)
		}
		var v string
		switch {
		case strings.HasPrefix(rest, `"`):
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("overlay: ENV %q: unterminated quote", args)
			}
			v, rest = rest[1:1+end], rest[2+end:]
		case strings.HasPrefix(rest, `'`):
			end := strings.Index(rest[1:], `'`)
			if end < 0 {
				return nil, fmt.Errorf("overlay: ENV %q: unterminated quote", args)
			}
			v, rest = rest[1:1+end], rest[2+end:]
		default:
			v, rest, _ = strings.Cut(rest, " ")
		}
		out = append(out, [2]string{k, expand(v, vars)})
		vars[k] = expand(v, vars)
		s = strings.TrimSpace(rest)
	}
	return out, nil
}

// execForm parses a JSON-array instruction argument (ENTRYPOINT ["/init"]).
func execForm(args string) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("overlay: %q is not an exec-form (JSON array) command", args)
	}
	return argv, nil
}

// readFragment reads and parses a fragment file.
func readFragment(path string) ([]Instruction, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("overlay: %w", err)
	}
	ins, err := ParseFragment(string(data))
	if err != nil {
		return nil, "", fmt.Errorf("overlay: %s: %w", path, err)
	}
	return ins, string(data), nil
}
