package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// HostPythonPackages are the Debian 12 packages whose files let the host's
// /usr/bin/python3.11 run in the base rootfs (a debian:12-slim userland,
// without Python): the interpreter, its standard library, and the shared
// libraries they and hermes-agent's extension modules load.
var HostPythonPackages = []string{
	"python3.11", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "media-types",
	"libexpat1", "libssl3", "libsqlite3-0", "libncursesw6", "libreadline8", "libtirpc3", "libnsl2",
	"libkrb5-3", "libgssapi-krb5-2", "libk5crypto3", "libkrb5support0", "libkeyutils1",
}

// HostPython returns the binds that let venv, a virtual environment made
// with the host's Debian python3.11, run in a container whose base rootfs
// is rootfs: venv at its own path, then every file and directory of
// HostPythonPackages that rootfs lacks (a directory it lacks, whole, as
// one bind), leaving out /usr/share (documentation, desktop files). It
// stands in for an image's `apt-get install python3.11` and `pip install`
// into venv.
func HostPython(rootfs, venv string) ([]Bind, error) {
	if !filepath.IsAbs(venv) {
		return nil, fmt.Errorf("overlay: venv %q: want an absolute path", venv)
	}
	install := "as root on Debian 12: apt-get install -y " + strings.Join(HostPythonPackages, " ")
	cmd := exec.Command("dpkg", "-L")
	cmd.Args = append(cmd.Args, HostPythonPackages...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("overlay: dpkg -L of the host's Python packages: %v: %s (%s)", err, strings.TrimSpace(stderr.String()), install)
	}
	listed := map[string]bool{}
	for _, p := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(p, "/") && p != "/." && !strings.HasPrefix(p, "/usr/share/") {
			listed[p] = true
		}
	}
	py, err := filepath.EvalSymlinks(filepath.Join(venv, "bin", "python"))
	if err != nil {
		return nil, fmt.Errorf("overlay: the interpreter of %s: %w", venv, err)
	}
	if !listed[py] {
		return nil, fmt.Errorf("overlay: the interpreter of %s is %s, not a file of %s: make the venv with /usr/bin/python3.11 (%s)",
			venv, py, strings.Join(HostPythonPackages[:2], " or "), install)
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, fmt.Errorf("overlay: base rootfs: %w", err)
	}
	defer root.Close()
	paths := make([]string, 0, len(listed))
	for p := range listed {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	binds := []Bind{{Host: venv}}
	whole := map[string]bool{} // directories bound whole
	for _, p := range paths {
		if underAny(p, whole) {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue // listed, yet not on the host (diverted or removed)
		}
		if _, err := root.Lstat(strings.TrimPrefix(p, "/")); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("overlay: %s in the base rootfs %s: %w", p, rootfs, err)
		}
		binds = append(binds, Bind{Host: p})
		if fi.IsDir() {
			whole[p] = true
		}
	}
	return binds, nil
}

// underAny: some ancestor of p is in dirs.
func underAny(p string, dirs map[string]bool) bool {
	for d := filepath.Dir(p); d != "/" && d != "."; d = filepath.Dir(d) {
		if dirs[d] {
			return true
		}
	}
	return false
}
