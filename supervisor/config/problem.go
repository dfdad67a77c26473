package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with the configuration. Check and
// CheckProfile return every problem they find; Load, ForProfile and
// Validate return the first one as their error (errors.As finds it).
//
// The messages, after "config: ", are one line each, with control
// characters escaped and no more than a short excerpt of the file quoted:
//
//	FILE: line N: <TOML syntax error>                      not TOML
//	FILE: open: <reason>                                   cannot be read (also: not a regular file, too big)
//	unknown setting "KEY" in FILE; did you mean "KNOWN"?  the suggestion only when one is near
//	KEY in FILE: want <type>, found <type>                 want a duration string like "10s", found an integer
//	KEY in FILE: want <value>, found <value>               want a duration like "10s" or "100ms", found "ten"
//	KEY in FILE: may only be set in hermes.toml, ...       top-level keys, gateway.user, policy.cache_dir in a profile.toml
//	KEY in FILE: V is above the limit of L (from F); ...   policy.timeout, policy.memory_limit raised by a profile.toml
//	KEY in FILE: must ..., found <value>                   Validate's ranges; "KEY (from env NAME): ..." or
//	                                                       "KEY (from flag --name): ..." when not from a file
type Problem struct {
	// File is the file at fault; "" when the value came from the
	// environment, a flag or the built-in defaults.
	File string
	// Key is the dotted key at fault, as the file spells it
	// ("gateway.stop_grace"); "" when the problem is the file as a whole.
	Key string
	// Message is the problem in one line, naming the file and the key.
	Message string
	err     error // the cause, if any (os.ErrNotExist for a missing file)
}

// Error is "config: " followed by Message.
func (p Problem) Error() string { return "config: " + p.Message }

// Unwrap returns the cause: an *os.PathError when the file could not be
// read, a toml.ParseError when it is not TOML, else nil.
func (p Problem) Unwrap() error { return p.err }

func readProblem(path string, err error) Problem {
	msg := err.Error()
	var pe *os.PathError
	if errors.As(err, &pe) {
		msg = pe.Op + ": " + pe.Err.Error()
	}
	return Problem{File: path, Message: escape(path) + ": " + escape(msg), err: err}
}

func keyProblem(path, key, msg string) Problem {
	return Problem{File: path, Key: key, Message: key + " in " + escape(path) + ": " + msg}
}

func unknownProblem(path, key, suggestion string) Problem {
	msg := "unknown setting " + quote(key) + " in " + escape(path)
	if suggestion != "" {
		msg += "; did you mean " + strconv.Quote(suggestion) + "?"
	}
	return Problem{File: path, Key: key, Message: msg}
}

// problem is a Validate finding about key, located by its source.
func (c *Config) problem(key, msg string) Problem {
	switch src := c.Sources[key]; {
	case src == "" || src == "default":
		return Problem{Key: key, Message: key + ": " + msg}
	case strings.HasPrefix(src, "env ") || strings.HasPrefix(src, "flag "):
		return Problem{Key: key, Message: key + " (from " + src + "): " + msg}
	default:
		return keyProblem(src, key, msg)
	}
}

// parseMessage is the TOML library's syntax error in one line: its
// message (which may quote the file) escaped and cut to a short excerpt.
func parseMessage(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", pe.Position.Line, excerpts(pe.Message))
	}
	return excerpts(err.Error())
}

// quoted matches what a TOML syntax error quotes from the file.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// excerpts escapes msg and cuts each quoted part to excerptLen runes, and
// the whole to four times that.
func excerpts(msg string) string {
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		return q[:1] + shorten(q[1:len(q)-1], excerptLen) + q[len(q)-1:]
	})
	return shorten(escape(msg), 4*excerptLen)
}

// excerptLen bounds how much of a value from the file a message quotes.
const excerptLen = 40

// quote is s, cut to excerptLen runes, in Go double-quoted syntax (so
// control characters are escaped).
func quote(s string) string { return strconv.Quote(shorten(s, excerptLen)) }

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// escape writes control characters (and other non-printing runes, and
// invalid UTF-8) as Go escapes, so that a message stays one line and
// cannot drive a terminal.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// suggest is the dotted key nearest to an unknown piece of table t: a
// sibling within a small edit distance, else a setting of that name in
// another table (a key written under the wrong header), else "".
func suggest(t *table, piece string) string {
	if best := NearestName(piece, t.names); best != "" {
		return join(t.key, best)
	}
	for _, s := range settings {
		if i := strings.LastIndexByte(s.key, '.'); strings.EqualFold(s.key[i+1:], piece) {
			return s.key
		}
	}
	return ""
}

// suggestFold is the child of t that piece spells in other letter case.
func suggestFold(t *table, piece string) string {
	for _, name := range t.names {
		if strings.EqualFold(name, piece) {
			return name
		}
	}
	return ""
}
