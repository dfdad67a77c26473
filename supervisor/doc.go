// Package supervisor holds what the native runtime's parts share: turning
// the configuration into policy options. The work lives in its
// sub-packages: config, profile, state, runner, boot and ops.
//
// supervisor packages may import hostabi, policy and s6; never cmd.
package supervisor

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
)

// PolicyCacheDir is where compiled policy modules are cached: policy.cache_dir,
// or <home>/cache/policy when that is empty.
func PolicyCacheDir(c config.Config) string {
	if c.Policy.CacheDir != "" {
		return c.Policy.CacheDir
	}
	return filepath.Join(c.Home, "cache", "policy")
}

// PolicyOptions turns the [policy] table into options for policy.Open.
func PolicyOptions(c config.Config, log *slog.Logger) (policy.Options, error) {
	params, err := hostabi.ParamsFromMap(c.Policy.Params)
	if err != nil {
		return policy.Options{}, fmt.Errorf("config: policy.params: %w", err)
	}
	return policy.Options{
		Module:      c.Policy.Module,
		SHA256:      c.Policy.SHA256,
		Timeout:     c.Policy.Timeout.D(),
		MemoryLimit: uint64(c.Policy.MemoryLimit),
		OnError:     c.Policy.OnError,
		CacheDir:    PolicyCacheDir(c),
		Params:      params,
		Logger:      log,
	}, nil
}
