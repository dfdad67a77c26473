package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNameDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{
		{"stop_grace", "stop_grace", 0},
		{"stop_grase", "stop_grace", 1},
		{"stop_graec", "stop_grace", 1}, // a transposition is one edit
		{"Stop_Grace", "stop_grace", 0},
		{"stopgrace", "stop_grace", 1},
		{"user", "usr", 1},
		{"", "home", 4},
		{"abc", "xyz", 3},
		{"ça", "ca", 1}, // runes, not bytes
		{strings.Repeat("a", 128), strings.Repeat("a", 127), 1},
		{strings.Repeat("a", 129), "a", farNames},
	} {
		assert.Equal(t, tt.d, nameDistance(tt.a, tt.b), "%s/%s", tt.a, tt.b)
	}
}

func TestNearestName(t *testing.T) {
	keys := []string{"max_restarts", "window", "cap", "backoff_base"}
	for _, tt := range []struct{ in, want string }{
		{"max_restart", "max_restarts"},
		{"MAX_RESTARTS", "max_restarts"},
		{"windwo", "window"},
		{"cpa", "cap"},
		{"cup", "cap"},
		{"cups", ""}, // two edits from a three-letter name
		{"backof_bse", "backoff_base"},
		{"backof_bs", ""}, // three edits
		{"unrelated", ""},
	} {
		assert.Equal(t, tt.want, NearestName(tt.in, keys), tt.in)
	}
	assert.Equal(t, "", NearestName("x", nil))
	assert.Equal(t, "ab", NearestName("aa", []string{"ab", "ba"}), "the first of equally near ones")
}
