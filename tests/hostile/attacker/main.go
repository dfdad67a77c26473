// Command attacker is the hostile gateway user of the end-to-end security
// campaign (tests/e2e/hostile_*_test.go): the tests run it inside a
// simulated container as uid 10000, with nothing but that user's rights,
// to do what a shell cannot do fast or at all (swap a directory and a
// symlink atomically in a loop, plant a compiled-policy cache entry whose
// machine code is replaced, kill a command at a chosen moment).
//
// Usage:
//
//	attacker swap A B DURATION          exchange A and B (renameat2 RENAME_EXCHANGE) in a loop; A ends as it began
//	attacker churn HOME PREFIX DURATION create and remove profiles HOME/profiles/PREFIX<n> in a loop
//	attacker plant-cache DST SRC...     copy the first wazero cache entry found under a SRC, its code replaced by traps, into DST;
//	                                    a SRC ending in .wasm is compiled with wazero (as the supervisor configures it) when no entry was found
//	attacker killafter DELAY CMD...     run CMD, SIGKILL it after DELAY; say how it ended
//	attacker fill DIR N                 create N small files under DIR (100 a directory)
//
// It prints one line per action on stdout and fails (exit 1) with one line
// on stderr. It imports nothing of this repository.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: attacker swap|churn|plant-cache|killafter|fill ..."))
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "swap":
		err = swap(args)
	case "churn":
		err = churn(args)
	case "plant-cache":
		err = plantCache(args)
	case "killafter":
		err = killAfter(args)
	case "fill":
		err = fill(args)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "attacker:", err)
	os.Exit(1)
}

func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

// swap exchanges a and b as fast as it can for d, then leaves a as it was
// found (a directory, when the test set it up so).
func swap(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: attacker swap A B DURATION")
	}
	a, b := args[0], args[1]
	d, err := duration(args[2])
	if err != nil {
		return err
	}
	before, err := os.Lstat(a)
	if err != nil {
		return err
	}
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			return fmt.Errorf("renameat2 %s %s: %w", a, b, err)
		}
	}
	if now, err := os.Lstat(a); err == nil && now.Mode().Type() != before.Mode().Type() {
		if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			return fmt.Errorf("renameat2 %s %s: %w", a, b, err)
		}
	}
	fmt.Printf("swapped %s and %s %d times\n", a, b, n)
	return nil
}

// churn creates a profile (a directory with a profile.toml) and removes it
// again, for d, so that the registrar registers and forgets slots.
func churn(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: attacker churn HOME PREFIX DURATION")
	}
	home, prefix := args[0], args[1]
	d, err := duration(args[2])
	if err != nil {
		return err
	}
	profiles := filepath.Join(home, "profiles")
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		return err
	}
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		dir := filepath.Join(profiles, prefix+strconv.Itoa(n%8))
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "profile.toml"), nil, 0o644); err != nil {
			return err
		}
		time.Sleep(30 * time.Millisecond) // the registrar's turn
		// Boot may be writing in it meanwhile: try again.
		for try := 0; ; try++ {
			err := os.RemoveAll(dir)
			if err == nil {
				break
			}
			if try == 20 {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fmt.Printf("created and removed %d profiles\n", n)
	return nil
}

// wazero's file cache: <dir>/wazero-<version>-<arch>-<os>/<64 hex digits>.
var entryName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// plantCache finds a compiled module in a cache the gateway user can read
// (its own), replaces its machine code with breakpoint instructions,
// recomputes the checksum wazero checks, and writes it under dst with the
// same version directory and key.
func plantCache(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: attacker plant-cache DST SRC...")
	}
	dst := args[0]
	var found string
	var modules []string
	for _, src := range args[1:] {
		if strings.HasSuffix(src, ".wasm") {
			modules = append(modules, src)
			continue
		}
		_ = filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
			if err != nil || found != "" {
				return nil
			}
			if e.Type().IsRegular() && entryName.MatchString(e.Name()) && bytes.HasPrefix([]byte(filepath.Base(filepath.Dir(p))), []byte("wazero-")) {
				found = p
				return fs.SkipAll
			}
			return nil
		})
		if found != "" {
			break
		}
	}
	for _, m := range modules {
		if found != "" {
			break
		}
		dir, err := os.MkdirTemp("", "attacker-cache-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if found, err = compileInto(m, dir); err != nil {
			return err
		}
	}
	if found == "" {
		return fmt.Errorf("no compiled module under %v", args[1:])
	}
	entry, err := os.ReadFile(found)
	if err != nil {
		return err
	}
	planted, err := replaceCode(entry)
	if err != nil {
		return fmt.Errorf("%s: %w", found, err)
	}
	out := filepath.Join(dst, filepath.Base(filepath.Dir(found)), filepath.Base(found))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, planted, 0o644); err != nil {
		return err
	}
	fmt.Printf("planted %s (from %s)\n", out, found)
	return nil
}

// compileInto compiles a module with a file cache in dir, configured as
// the supervisor's runtime is, and returns the cache entry written.
func compileInto(module, dir string) (string, error) {
	wasm, err := os.ReadFile(module)
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return "", err
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		return "", fmt.Errorf("compile %s: %w", module, err)
	}
	rt.Close(ctx)
	cache.Close(ctx)
	found, _ := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	for _, f := range found {
		if entryName.MatchString(filepath.Base(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("compiling %s wrote no cache entry in %s", module, dir)
}

// replaceCode rewrites a wazero (v1.12, wazevo) cache entry: magic "WAZEVO",
// a version string, the function count and offsets, the code's length, the
// code, its CRC-32C, then tables that are kept as they are.
func replaceCode(b []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(b) < 7 || string(b[:6]) != "WAZEVO" {
		return nil, errors.New("not a wazevo cache entry")
	}
	off := 7 + int(b[6])
	if len(b) < off+4 {
		return nil, errors.New("short header")
	}
	n := int(le.Uint32(b[off:]))
	off += 4 + 8*n
	if len(b) < off+8 {
		return nil, errors.New("short offsets")
	}
	codeLen := int(le.Uint64(b[off:]))
	off += 8
	if codeLen == 0 || len(b) < off+codeLen+4 {
		return nil, errors.New("no code")
	}
	out := bytes.Clone(b)
	code := out[off : off+codeLen]
	for i := range code {
		code[i] = 0xCC // int3 on amd64: executing any of it kills the process with SIGTRAP
	}
	le.PutUint32(out[off+codeLen:], crc32.Checksum(code, crc32.MakeTable(crc32.Castagnoli)))
	return out, nil
}

// killAfter runs a command and SIGKILLs it after delay.
func killAfter(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: attacker killafter DELAY CMD...")
	}
	d, err := duration(args[0])
	if err != nil {
		return err
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		fmt.Printf("exited %d after %s\n", code, time.Since(start))
	case <-time.After(d):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := <-done
		var ee *exec.ExitError
		if errors.As(err, &ee) && !ee.Exited() {
			fmt.Printf("killed after %s\n", time.Since(start))
		} else {
			fmt.Printf("exited %d after %s\n", cmd.ProcessState.ExitCode(), time.Since(start))
		}
	}
	return nil
}

// fill creates n small files under dir, 100 to a subdirectory.
func fill(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: attacker fill DIR N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		sub := filepath.Join(args[0], fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d", i)), []byte("old profile's file\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("created %d files under %s\n", n, args[0])
	return nil
}
