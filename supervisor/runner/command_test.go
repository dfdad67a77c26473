package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
)

func TestGatewayCommand(t *testing.T) {
	g := config.Gateway{Command: []string{"hermes", "gateway", "run", "--home={profile}"}, ProfileArgs: []string{"-p", "{profile}"}}
	assert.Equal(t, []string{"hermes", "gateway", "run", "--home=default"}, GatewayCommand(g, "default"), "no profile args for the root profile")
	assert.Equal(t, []string{"hermes", "gateway", "run", "--home=coder", "-p", "coder"}, GatewayCommand(g, "coder"))
	assert.Equal(t, []string{"hermes", "gateway", "run", "--home={profile}"}, g.Command, "the configuration is not modified")
}
