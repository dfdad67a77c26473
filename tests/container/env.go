package container

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
)

// HermesUID is the unprivileged user the container image runs gateways and
// operator commands as.
const HermesUID = 10000

// NoNamespacesEnv forces the plain-child fallback when set to 1, to exercise
// it on a machine where namespaces work.
const NoNamespacesEnv = "HERMES_E2E_NO_NAMESPACES"

// Mode is how containers are simulated on this machine.
type Mode int

const (
	// Namespaced: unshare --pid --fork --mount-proc --mount, with PID 1 of the
	// new PID namespace as the container's init and a tmpfs scandir.
	Namespaced Mode = iota
	// Plain: namespaces were refused; PID 1 is a plain child process and the
	// scandir an ordinary directory emptied on every boot.
	Plain
)

func (m Mode) String() string {
	if m == Namespaced {
		return "namespaced (unshare --pid --mount, tmpfs scandir)"
	}
	return "plain child process (no namespaces)"
}

var (
	probeOnce sync.Once
	probeMode Mode
	probeWhy  string
)

// Detect decides once whether namespaces can be used, and why not. The
// first call prints the mode to stderr, so a fallback never goes unnoticed.
func Detect() (Mode, string) {
	probeOnce.Do(func() {
		probeMode, probeWhy = probe()
		if probeMode == Plain {
			fmt.Fprintf(os.Stderr, "container: FALLBACK to a plain child s6-svscan, no namespaces: %s\n", probeWhy)
		}
	})
	return probeMode, probeWhy
}

func probe() (Mode, string) {
	if os.Getenv(NoNamespacesEnv) == "1" {
		return Plain, NoNamespacesEnv + "=1"
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return Plain, "unshare not found"
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		return Plain, "nsenter not found"
	}
	dir, err := os.MkdirTemp("", "hermes-e2e-probe-")
	if err != nil {
		return Plain, err.Error()
	}
	defer os.RemoveAll(dir)
	out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--mount", "--propagation", "private",
		"sh", "-c", `mount -t tmpfs tmpfs "$1" && test "$$" = 1`, "sh", dir).CombinedOutput()
	if err != nil {
		return Plain, fmt.Sprintf("unshare refused: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return Namespaced, ""
}

// Prerequisites reports what this machine lacks to run the suite, with how
// to install it, or nil.
func Prerequisites() error {
	var missing []string
	for _, b := range []string{"s6-svscan", "s6-svstat", "s6-svc", "s6-supervise", "s6-setuidgid"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat(filepath.Join("/command", b)); err != nil {
				missing = append(missing, b)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("container: s6 is not installed (missing %s): install it with `apt-get install -y s6 execline`, or run tests/run.sh as root", strings.Join(missing, ", "))
	}
	if _, err := exec.LookPath("execlineb"); err != nil {
		return fmt.Errorf("container: execline is not installed: install it with `apt-get install -y execline`, or run tests/run.sh as root")
	}
	for _, b := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("container: %s not found: install it with `apt-get install -y util-linux`", b)
		}
	}
	return nil
}

// HermesUser checks that the unprivileged user hermes (uid 10000) exists.
func HermesUser() error {
	u, err := user.Lookup("hermes")
	if err != nil {
		return fmt.Errorf("container: no user hermes: create it as root with `groupadd -g 10000 hermes && useradd -u 10000 -g 10000 -M hermes` (tests/run.sh does)")
	}
	if u.Uid != fmt.Sprint(HermesUID) {
		return fmt.Errorf("container: user hermes has uid %s, the container image uses %d", u.Uid, HermesUID)
	}
	return nil
}
