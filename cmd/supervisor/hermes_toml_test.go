package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
)

// The documented configuration is the built-in one, value for value.
func TestHermesTOMLIsTheDefault(t *testing.T) {
	t.Setenv("HERMES_HOME", "")
	t.Setenv("S6_PROFILE_GATEWAY_SCANDIR", "")
	got, err := config.Load("../../hermes.toml", config.Overrides{})
	require.NoError(t, err)
	want := config.Default()
	for _, k := range config.Keys() {
		assert.Equal(t, want.Value(k), got.Value(k), k)
		assert.Equal(t, "../../hermes.toml", got.Sources[k], "hermes.toml does not document %s", k)
	}
}
