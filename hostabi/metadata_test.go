package hostabi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

func TestParseMetadata(t *testing.T) {
	t.Parallel()
	m, err := hostabi.ParseMetadata([]byte("# the default policy\nname=default\n version = 1.0.0 \n\ndecisions=boot, shutdown,exit,boot\nauthor=ops team\n"))
	require.NoError(t, err)
	assert.Equal(t, "default", m.Name)
	assert.Equal(t, "1.0.0", m.Version)
	assert.Equal(t, []hostabi.Kind{hostabi.KindBoot, hostabi.KindShutdown, hostabi.KindExit}, m.Decisions)
	assert.Equal(t, map[string]string{"author": "ops team"}, m.Extra)
	assert.True(t, m.Supports(hostabi.KindExit))

	back, err := hostabi.ParseMetadata([]byte(m.Text()))
	require.NoError(t, err)
	assert.Equal(t, m.Name, back.Name)
	assert.Equal(t, m.Decisions, back.Decisions)

	only, err := hostabi.ParseMetadata([]byte("name=x\nversion=2\ndecisions=exit"))
	require.NoError(t, err)
	assert.False(t, only.Supports(hostabi.KindBoot))
}

func TestParseMetadataRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text, want string
	}{
		{"no name", "version=1\ndecisions=exit\n", "has no name"},
		{"no version", "name=a\ndecisions=exit\n", "has no version"},
		{"no decisions", "name=a\nversion=1\n", "names no decisions"},
		{"upper-case name", "name=Default\nversion=1\ndecisions=exit\n", `name "Default"`},
		{"long name", "name=" + strings.Repeat("a", 65) + "\nversion=1\ndecisions=exit\n", "want 1 to 64"},
		{"version with space", "name=a\nversion=1 beta\ndecisions=exit\n", `version "1 beta"`},
		{"unknown decision", "name=a\nversion=1\ndecisions=exit,reboot\n", `unknown decision kind "reboot"`},
		{"key twice", "name=a\nname=b\nversion=1\ndecisions=exit\n", `key "name" given twice`},
		{"not key=value", "name=a\nversion=1\ndecisions=exit\nhello\n", "line 4"},
		{"not utf-8", "name=a\nversion=1\ndecisions=exit\nx=\xff\n", "not valid UTF-8"},
		{"too big", "name=a\nversion=1\ndecisions=exit\nx=" + strings.Repeat("y", 4096), "more than 4096"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := hostabi.ParseMetadata([]byte(c.text))
			require.ErrorIs(t, err, hostabi.ErrMalformed)
			assert.ErrorContains(t, err, c.want)
		})
	}
}
