// Package show renders text that came from outside (the volume, a policy
// module's reason, a directory name) for a human reader: on a terminal, in
// a table, in `docker logs`. Such text may hold newlines that forge a row,
// tabs that shift a column, or escape sequences that rewrite the screen;
// Text makes it one inert line.
//
// It must not import any other package of this repository.
package show

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s as one line with nothing a terminal would act on: every
// control character (C0, DEL, C1), every Unicode format character (such as
// the bidirectional overrides that reorder what is displayed) and every
// invalid UTF-8 byte is written as a Go escape (\n, \t, \x1b, \u202e).
// Text that needs none of this is returned as it is.
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case inert(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// Field is Text for a value in a tab-separated or aligned table: a space
// stands for an empty value nowhere, "-" does.
func Field(s string) string {
	if s == "" {
		return "-"
	}
	return Text(s)
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return !strings.ContainsFunc(s, func(r rune) bool { return !inert(r) }) && utf8.ValidString(s)
		}
	}
	return true
}

func inert(r rune) bool {
	return r != utf8.RuneError && unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r) || r == ' '
}
