package overlay

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// The environment variables that say where s6-overlay comes from.
const (
	// DistEnv names a directory holding the two release tarballs of
	// s6-overlay 3.2.0.2 (s6-overlay-noarch.tar.xz, s6-overlay-x86_64.tar.xz),
	// official or built by build.sh.
	DistEnv = "S6_OVERLAY_DIST"
	// RootfsEnv names the base image's root directory (a debian:12-slim
	// userland). Default: $S6_OVERLAY_DIST/base-rootfs, else the build
	// cache's base-rootfs.
	RootfsEnv = "S6_OVERLAY_ROOTFS"
	// CacheEnv is build.sh's cache directory (default DefaultCache).
	CacheEnv = "S6OV_CACHE"
	// BuildEnv names build.sh; default: shared/s6-overlay/build.sh in the
	// first directory above the module root that has one.
	BuildEnv = "S6OV_BUILD"
)

// DefaultCache is where build.sh builds when S6OV_CACHE is not set.
const DefaultCache = "/tmp/hermes-s6ov-cache"

// Tarballs are the release files the fragment's ADD steps fetch.
var Tarballs = []string{"s6-overlay-noarch.tar.xz", "s6-overlay-x86_64.tar.xz"}

// Dist is a located s6-overlay: the release tarballs and a base rootfs.
type Dist struct {
	Dir    string // holds Tarballs
	Rootfs string // the base image's root
	How    string // one line: where they came from
}

var (
	distOnce sync.Once
	dist     Dist
	distErr  error
)

// Locate finds s6-overlay and the base rootfs, building them with build.sh
// into the cache when neither S6_OVERLAY_DIST nor a finished cache gives
// them (about 3 minutes on 2 cores, once). Every failure says how to
// provide them. Safe for concurrent test binaries: the build holds a lock
// on the cache directory.
func Locate() (Dist, error) {
	distOnce.Do(func() { dist, distErr = locate() })
	return dist, distErr
}

func howTo() string {
	return "set " + DistEnv + "=<dir with " + strings.Join(Tarballs, " and ") +
		" of s6-overlay 3.2.0.2> (and " + RootfsEnv + "=<a debian:12-slim root directory with xz-utils>), " +
		"or let the test build them: " + BuildEnv + "=<path of shared/s6-overlay/build.sh> " +
		CacheEnv + "=<cache dir> (needs root, gcc, make, xz; about 3 minutes once); tests/run.sh does the latter"
}

func locate() (Dist, error) {
	if os.Geteuid() != 0 {
		return Dist{}, errors.New("overlay: booting the image needs root (mounts, chroot, namespaces): run the tests as root (tests/run.sh in CI)")
	}
	cache := os.Getenv(CacheEnv)
	if cache == "" {
		cache = DefaultCache
	}
	if d := os.Getenv(DistEnv); d != "" {
		for _, f := range Tarballs {
			if _, err := os.Stat(filepath.Join(d, f)); err != nil {
				return Dist{}, fmt.Errorf("overlay: %s=%s has no %s: %s", DistEnv, d, f, howTo())
			}
		}
		rootfs := os.Getenv(RootfsEnv)
		for _, cand := range []string{filepath.Join(d, "base-rootfs"), filepath.Join(cache, "base-rootfs")} {
			if rootfs != "" {
				break
			}
			if fi, err := os.Stat(filepath.Join(cand, "bin", "sh")); err == nil && !fi.IsDir() {
				rootfs = cand
			}
		}
		if rootfs == "" {
			if err := build(cache); err != nil {
				return Dist{}, err
			}
			rootfs = filepath.Join(cache, "base-rootfs")
		}
		if err := checkRootfs(rootfs); err != nil {
			return Dist{}, err
		}
		return Dist{Dir: d, Rootfs: rootfs, How: fmt.Sprintf("tarballs from %s=%s, base rootfs %s", DistEnv, d, rootfs)}, nil
	}
	how := "build cache " + cache
	if !built(cache) {
		if err := build(cache); err != nil {
			return Dist{}, err
		}
		how = "built by build.sh into " + cache
	}
	rootfs := os.Getenv(RootfsEnv)
	if rootfs == "" {
		rootfs = filepath.Join(cache, "base-rootfs")
	}
	if err := checkRootfs(rootfs); err != nil {
		return Dist{}, err
	}
	return Dist{Dir: cache, Rootfs: rootfs, How: how + ", base rootfs " + rootfs}, nil
}

// built reports whether build.sh finished in cache (its two stamps).
func built(cache string) bool {
	for _, f := range []string{".built-3.2.0.2", ".base-rootfs"} {
		if _, err := os.Stat(filepath.Join(cache, f)); err != nil {
			return false
		}
	}
	for _, f := range Tarballs {
		if _, err := os.Stat(filepath.Join(cache, f)); err != nil {
			return false
		}
	}
	return true
}

func checkRootfs(dir string) error {
	for _, f := range []string{"bin/sh", "usr/sbin/useradd", "usr/sbin/groupadd", "usr/bin/tar"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("overlay: base rootfs %s has no /%s: %s", dir, f, howTo())
		}
	}
	return nil
}

// FindBuildScript returns build.sh: $S6OV_BUILD, else
// shared/s6-overlay/build.sh in the nearest directory above the module
// root that has one.
func FindBuildScript() (string, error) {
	if p := os.Getenv(BuildEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("overlay: %s=%s: %v: %s", BuildEnv, p, err, howTo())
		}
		return p, nil
	}
	root, err := container.ModuleRoot()
	if err != nil {
		return "", err
	}
	for d := root; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "s6-overlay", "build.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("overlay: no s6-overlay and no shared/s6-overlay/build.sh above %s: %s", root, howTo())
		}
	}
}

// build runs build.sh into cache under an exclusive lock, its output in
// cache/build.log.
func build(cache string) error {
	script, err := FindBuildScript()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("overlay: lock %s: %w", lock.Name(), err)
	}
	if built(cache) {
		return nil
	}
	logPath := filepath.Join(cache, "build.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(os.Stderr, "overlay: building s6-overlay with %s into %s (about 3 minutes; log %s)\n", script, cache, logPath)
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), CacheEnv+"="+cache)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(logPath)
		return fmt.Errorf("overlay: %s failed (%v); last lines of %s:\n%s\n%s", script, err, logPath, lastLines(string(data), 15), howTo())
	}
	if !built(cache) {
		return fmt.Errorf("overlay: %s ran but %s lacks the tarballs or base-rootfs: %s", script, cache, howTo())
	}
	return nil
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
