// Package runner is the process an s6 slot execs: "supervisor run" wraps
// and supervises one gateway, "supervisor finish" tells s6 whether to
// restart it. See README.md beside this file for the files, the gateway
// contract and the exit codes.
//
// Decisions are made by the policy (package policy) from inputs built by
// the pure functions of supervisor/lifecycle; this package is the
// mechanism (exec, signals, pipes, timers, files through package state)
// that calls them.
//
// It may import hostabi, policy, supervisor/config, supervisor/engine,
// supervisor/journal, supervisor/lifecycle, supervisor/profile and
// supervisor/state; it must not import s6, boot, ops or cmd.
package runner

import (
	"strings"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
)

// GatewayCommand is the gateway's command line for profile name:
// gateway.command, then gateway.profile_args for a named profile (never for
// the root profile), with {profile} replaced by the name in every argument.
func GatewayCommand(g config.Gateway, name string) []string {
	args := append([]string(nil), g.Command...)
	if name != profile.Root {
		args = append(args, g.ProfileArgs...)
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "{profile}", name)
	}
	return args
}
