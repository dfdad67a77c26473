package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// AssemblyScriptFlags are the compiler flags of every AssemblyScript policy:
// the "stub" runtime (a bump allocator the SDK resets at every decision), no
// abort function and no assertions (a failed check traps, and the host falls
// back), optimised for size. The module then imports nothing.
// policies/build.sh passes the same; a test holds them equal, and to the
// flags policies/README.md gives.
var AssemblyScriptFlags = []string{"--runtime", "stub", "--use", "abort=", "-Oz", "--noAssert"}

// AssemblyScriptVersion is the compiler version the scaffold's package.json
// pins, the one policies/package-lock.json pins (a test holds them equal).
const AssemblyScriptVersion = "0.28.20"

// ascPath is where npm installs the compiler under a node_modules directory.
var ascPath = filepath.Join("node_modules", "assemblyscript", "bin", "asc.js")

// Entry is the AssemblyScript file the policy in dir is compiled from: its
// only .ts file at the top level, else policy.ts, else the .ts file named
// like dir, else index.ts.
func Entry(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	var ts []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".ts") && !strings.HasSuffix(n, ".d.ts") {
			ts = append(ts, n)
		}
	}
	abs, _ := filepath.Abs(dir)
	switch {
	case len(ts) == 0:
		return "", fmt.Errorf("build: %s: %w: no .ts file", dir, ErrNoPolicy)
	case len(ts) == 1:
		return ts[0], nil
	}
	for _, n := range []string{"policy.ts", filepath.Base(abs) + ".ts", "index.ts"} {
		if slices.Contains(ts, n) {
			return n, nil
		}
	}
	return "", fmt.Errorf("build: %s: %w: several .ts files (%s) and none named policy.ts, the entry", dir, ErrNoPolicy, strings.Join(ts, ", "))
}

// findCompiler is the AssemblyScript compiler for dir: node_modules in dir
// or in the nearest directory above it that has one, as node resolves a
// package.
func findCompiler(dir string) (string, bool) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(d, ascPath)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
		up := filepath.Dir(d)
		if up == d {
			return "", false
		}
		d = up
	}
}

// installHint is the one command that installs the compiler for dir.
func installHint(dir string) string {
	q := shellQuote(dir)
	switch {
	case exists(filepath.Join(dir, "package-lock.json")):
		return "npm ci --prefix " + q
	case exists(filepath.Join(dir, "package.json")):
		return "npm install --prefix " + q
	}
	return "npm install --prefix " + q + " --save-dev --save-exact assemblyscript@" + AssemblyScriptVersion
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// assemblyScriptCompiler returns the AssemblyScript build of dir into a
// file, or an error wrapping ErrNoCompiler that says what to install.
func assemblyScriptCompiler(dir string) (func(ctx context.Context, dir, tmp string) error, error) {
	entry, err := Entry(dir)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("build: %s: %w: node is not installed; install Node.js 20 or later (e.g. apt-get install -y nodejs npm), then run %s",
			dir, ErrNoCompiler, installHint(dir))
	}
	asc, ok := findCompiler(dir)
	if !ok {
		return nil, fmt.Errorf("build: %s: %w in %s or a directory above it; install it: %s",
			dir, ErrNoCompiler, filepath.Join(dir, "node_modules"), installHint(dir))
	}
	return func(ctx context.Context, dir, tmp string) error {
		src, err := filepath.Abs(filepath.Join(dir, entry))
		if err != nil {
			return fmt.Errorf("build: %s: %w", dir, err)
		}
		// From the root directory, with absolute paths: every source is
		// then below the working directory, and the compiler's output does
		// not depend on where dir is (a source reached through "../" from
		// the working directory changes the module's bytes).
		cmd := exec.CommandContext(ctx, node, append([]string{asc, src, "-o", tmp}, AssemblyScriptFlags...)...)
		cmd.Dir = string(filepath.Separator)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("build: %s: %w", dir, ctx.Err())
			}
			return fmt.Errorf("build: %s: %w (asc %s):\n%s", dir, ErrCompile, entry, firstLines(out.String(), maxErrorLines))
		}
		return nil
	}, nil
}

// shellQuote quotes s for a POSIX shell when it needs it, so that a
// command printed for copying works as printed.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Fresh returns nil when the module file is not older than any source of
// the policy in its own directory (or when that directory holds no
// policy), else an error wrapping ErrStale that names the newer source and
// the command that rebuilds the module. The sources are the policy's files
// below that directory (node_modules and hidden directories left out, but
// the scaffold's .hermes-sdk): .go, go.mod and go.sum for Go, .ts for
// AssemblyScript. A source outside that directory (the repository's SDK)
// is not compared.
func Fresh(module string) error {
	st, err := os.Stat(module)
	if err != nil || !st.Mode().IsRegular() {
		return nil // whoever opens it says what is wrong
	}
	dir := filepath.Dir(module)
	lang, err := Detect(dir)
	if err != nil {
		return nil
	}
	var newest string
	var newestTime = st.ModTime()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n := d.Name()
		if d.IsDir() {
			if p != dir && (n == "node_modules" || strings.HasPrefix(n, ".") && n != sdkDir) {
				return filepath.SkipDir
			}
			return nil
		}
		source := strings.HasSuffix(n, ".ts") && !strings.HasSuffix(n, ".d.ts")
		if lang == Go {
			source = strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum"
		}
		if !source {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(newestTime) {
			newest, newestTime = p, fi.ModTime()
		}
		return nil
	})
	if newest == "" {
		return nil
	}
	return fmt.Errorf("build: %s: %w: %s changed after it was built; rebuild it with `supervisor policy build %s --write %s`, or test the sources themselves with --policy %s",
		module, ErrStale, newest, shellQuote(dir), shellQuote(module), shellQuote(dir))
}
