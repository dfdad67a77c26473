// Package supervisor holds what the native runtime's parts share: turning
// the configuration into policy options. The work lives in its
// sub-packages: config, profile, state, runner, boot and ops.
//
// supervisor packages may import hostabi, policy and s6; never cmd.
package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
)

// policyCacheBase is policy.cache_dir, or <home>/cache/policy when that is empty.
func policyCacheBase(c config.Config) string {
	if c.Policy.CacheDir != "" {
		return c.Policy.CacheDir
	}
	return filepath.Join(c.Home, "cache", "policy")
}

// PolicyCacheDir is where this process caches compiled policy modules: a
// directory per uid under the cache base, because boot runs as root and the
// gateways' supervisors as the gateway user, and neither may write (or
// poison) the other's compiled code.
func PolicyCacheDir(c config.Config) string {
	return filepath.Join(policyCacheBase(c), "uid-"+strconv.Itoa(os.Geteuid()))
}

// PrepareCacheDir creates the cache directory of uid (owned by uid:gid, mode
// 0700) under the cache base, so that a process running as that user can
// cache compiled modules. Boot calls it, as root, for the gateway user.
func PrepareCacheDir(c config.Config, uid, gid int) error {
	base := policyCacheBase(c)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	dir := filepath.Join(base, "uid-"+strconv.Itoa(uid))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("policy cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("policy cache: %s is not a directory", dir)
	}
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	return nil
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
		OnError:     policy.OnError(c.Policy.OnError),
		CacheDir:    PolicyCacheDir(c),
		Params:      params,
		Logger:      log,
	}, nil
}
