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

func TestParseMetadataParams(t *testing.T) {
	t.Parallel()
	m, err := hostabi.ParseMetadata([]byte("name=a\nversion=1\ndecisions=boot\nparams=multiplex_profiles:bool:false, window:duration:10m,max:int:5,ratio:float:0.5,bootstrap_state:string:,label:string:a:b\n"))
	require.NoError(t, err)
	assert.True(t, m.DeclaresParams)
	assert.Equal(t, []hostabi.ParamSpec{
		{Key: "multiplex_profiles", Type: "bool", Default: "false"},
		{Key: "window", Type: "duration", Default: "10m"},
		{Key: "max", Type: "int", Default: "5"},
		{Key: "ratio", Type: "float", Default: "0.5"},
		{Key: "bootstrap_state", Type: "string", Default: ""},
		{Key: "label", Type: "string", Default: "a:b"},
	}, m.Params)
	assert.NotContains(t, m.Extra, "params", "params is no other key")

	back, err := hostabi.ParseMetadata([]byte(m.Text()))
	require.NoError(t, err)
	assert.Equal(t, m.Params, back.Params, "Text writes the params back")

	none, err := hostabi.ParseMetadata([]byte("name=a\nversion=1\ndecisions=boot\nparams=\n"))
	require.NoError(t, err)
	assert.True(t, none.DeclaresParams, "params= declares that the module reads none")
	assert.Empty(t, none.Params)
	assert.Contains(t, none.Text(), "params=\n")

	old, err := hostabi.ParseMetadata([]byte("name=a\nversion=1\ndecisions=boot\n"))
	require.NoError(t, err, "a module written before params existed stays valid")
	assert.False(t, old.DeclaresParams)
	assert.NotContains(t, old.Text(), "params")
}

func TestParseMetadataRejectsBadParams(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"no default":      `"window:duration" is not key:type:default`,
		"x:list:1":        `x: type "list": want one of bool, int, float, string, duration`,
		"x:bool:yes":      `x: default "yes": want a boolean (true or false)`,
		"x:int:1.5":       `x: default "1.5": want an integer`,
		"x:float:inf":     `x: default "inf": want a float such as 1.5`,
		"x:duration:10":   `x: default "10": want a duration string such as "10m"`,
		"a b:int:1":       `key "a b"`,
		".x:int:1":        `key ".x"`,
		"x:int:1,x:int:2": "x declared twice",
	}
	for v, want := range cases {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			if v == "no default" {
				v = "window:duration"
			}
			_, err := hostabi.ParseMetadata([]byte("name=a\nversion=1\ndecisions=boot\nparams=" + v + "\n"))
			require.ErrorIs(t, err, hostabi.ErrMalformed)
			assert.ErrorContains(t, err, "metadata params: "+want)
		})
	}
}

func TestParamSpecCheck(t *testing.T) {
	t.Parallel()
	m, err := hostabi.ParseMetadata([]byte("name=a\nversion=1\ndecisions=boot\nparams=multiplex_profiles:bool:false,window:duration:10m,max:int:5,ratio:float:0.5,mode:string:x\n"))
	require.NoError(t, err)
	cases := []struct {
		key  string
		val  any
		want string // "" = accepted
	}{
		{"multiplex_profiles", true, ""},
		{"multiplex_profiles", "true", "want a boolean (true or false), found a string"},
		{"window", "5m", ""},
		{"window", "5 minutes", `want a duration string such as "10m", found "5 minutes"`},
		{"window", int64(300), `want a duration string such as "10m", found an integer`},
		{"max", int64(3), ""},
		{"max", 3.0, "want an integer, found a float"},
		{"ratio", 0.25, ""},
		{"ratio", int64(1), "want a float such as 1.5, found an integer"},
		{"mode", "y", ""},
		{"mode", false, "want a string, found a boolean"},
	}
	for _, c := range cases {
		ps, err := hostabi.ParamsFromMap(map[string]any{c.key: c.val})
		require.NoError(t, err)
		spec, ok := m.Param(c.key)
		require.True(t, ok, c.key)
		err = spec.Check(ps[0])
		if c.want == "" {
			assert.NoError(t, err, "%s = %v", c.key, c.val)
		} else {
			assert.EqualError(t, err, c.want, "%s = %v", c.key, c.val)
		}
	}
	_, ok := m.Param("multiplex_profile")
	assert.False(t, ok)
}
