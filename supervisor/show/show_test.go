package show_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
)

func TestText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain reason":               "plain reason",
		"":                           "",
		"café ünïcode":               "café ünïcode",
		"two\nlines":                 `two\nlines`,
		"a\tforged\tcolumn":          `a\tforged\tcolumn`,
		"\x1b[2J\x1b[31mred":         `\x1b[2J\x1b[31mred`,
		"cr\roverwrite":              `cr\roverwrite`,
		"del\x7f":                    `del\x7f`,
		"c1\u0085next":               `c1\u0085next`,
		"bidi \u202eevil\u202c":      `bidi \u202eevil\u202c`,
		"bad utf8 \xff\xfe":          `bad utf8 \xff\xfe`,
		"nul\x00":                    `nul\x00`,
		"$(rm -rf /) `x` \"quoted\"": "$(rm -rf /) `x` \"quoted\"",
	} {
		assert.Equal(t, want, show.Text(in), "%q", in)
	}
	assert.Equal(t, "-", show.Field(""))
	assert.Equal(t, `a\tb`, show.Field("a\tb"))
}

// Whatever comes in, what comes out is one line of printable characters.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "x", "\n", "\x1b]0;title\x07", "\u202e", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := show.Text(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' || r == '\u2066' {
				t.Fatalf("Text(%q) = %q holds %U", s, out, r)
			}
		}
	})
}
