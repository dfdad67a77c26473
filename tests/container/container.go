// Package container simulates a container for end-to-end tests: a
// persistent home directory stands in for the volume, and every boot starts a
// fresh PID namespace (unshare --pid --fork --mount-proc --mount, mount
// propagation private) whose PID 1 is `supervisor init` (or any init the test
// names, such as a bare s6-svscan), with a new tmpfs mounted on the scandir,
// as s6-overlay's /run/service is. Restart is "docker restart": SIGTERM to PID
// 1, wait for it to exit, SIGKILL after a grace (Docker's 10 s), boot again.
// Exec runs a command inside the container's view, as `docker exec` does
// (nsenter into its PID and mount namespaces, optionally as the hermes user).
//
// Where the kernel refuses namespaces, PID 1 is a plain child process, the
// scandir an ordinary directory emptied on every boot, and the fallback is
// printed (to the test log and stderr), never silent.
//
// Every process a container starts is killed when the test ends, pass or
// fail: killing PID 1 of a PID namespace takes the namespace down.
//
// This package drives programs through their command line only; it must not
// import the product's packages.
package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Options shape a container. The zero value boots `supervisor init`.
type Options struct {
	// Config is the hermes.toml written for the container; "" writes
	// DefaultConfig. It may use {home}, {scandir}, {bin}, {standin},
	// {supervisor} and {dir}.
	Config string
	// Init returns PID 1's command line; nil runs `supervisor init`.
	Init func(c *Container) []string
	// KillGrace is how long Stop waits after SIGTERM before SIGKILL;
	// 0 means Docker's 10 s.
	KillGrace time.Duration
	// Env is added to the environment of PID 1 and of every Exec (the
	// image's ENV).
	Env []string
	// PrivateDirs are existing directories of this machine on which every
	// boot mounts a fresh tmpfs of its own (mode 0755, root's), as a
	// container has its own /var/cache: what the product keeps there
	// stays inside the container. Without namespaces they are the
	// machine's own directories (the fallback is logged).
	PrivateDirs []string
}

// DefaultConfig is the test configuration: the stand-in gateway run as the
// hermes user, a short stop grace and readiness delay, the embedded policy.
const DefaultConfig = `home = "{home}"
scandir = "{scandir}"

[gateway]
command = ["{standin}", "--"]   # profile_args ("-p NAME") follow the "--"
user = "hermes"
stop_grace = "1s"
ready_after = "200ms"

[policy]
module = ""
timeout = "100ms"
`

// Container is one simulated container with its volume.
type Container struct {
	t    testing.TB
	opts Options
	mode Mode
	id   string

	Bin     Binaries
	Dir     string // everything of this container, outside the volume
	Home    string // the volume ($HERMES_HOME)
	Scandir string // where the tmpfs is mounted inside
	Config  string // hermes.toml
	Console string // PID 1's stdout and stderr, all boots appended

	cmd       *exec.Cmd
	pid1      int // PID 1 as seen from outside
	done      chan struct{}
	waitErr   error
	bootStart int64 // boot log size when this boot started
	boots     int
}

var seq atomic.Int64

// New makes a container (not yet started). It fails the test when s6 or
// util-linux are missing, saying how to install them, and logs the mode.
func New(t testing.TB, opts Options) *Container {
	t.Helper()
	if err := Prerequisites(); err != nil {
		t.Fatal(err)
	}
	bin, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	mode, why := Detect()
	if mode == Plain {
		t.Logf("container: FALLBACK to a plain child process, no namespaces: %s", why)
		if len(opts.PrivateDirs) > 0 {
			t.Logf("container: FALLBACK: no private tmpfs on %v: the machine's own directories are used", opts.PrivateDirs)
		}
	} else {
		t.Logf("container: %s", mode)
	}
	dir := t.TempDir()
	// t.TempDir's directories are 0700; the hermes user must reach the volume.
	for d := dir; d != os.TempDir() && d != "/" && strings.HasPrefix(d, os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &Container{
		t: t, opts: opts, mode: mode, Bin: bin,
		id:      fmt.Sprintf("%d-%d", os.Getpid(), seq.Add(1)),
		Dir:     dir,
		Home:    filepath.Join(dir, "volume"),
		Scandir: filepath.Join(dir, "run", "service"),
		Config:  filepath.Join(dir, "etc", "hermes.toml"),
		Console: filepath.Join(dir, "console.log"),
	}
	for _, d := range []string{c.Home, c.Scandir, filepath.Dir(c.Config)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(c.Home, HermesUID, HermesUID); err != nil {
		t.Fatalf("container: chown the volume to hermes: %v", err)
	}
	conf := opts.Config
	if conf == "" {
		conf = DefaultConfig
	}
	c.WriteConfig(conf)
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpDiagnostics()
		}
		c.kill()
	})
	return c
}

// Mode is how this container is simulated.
func (c *Container) Mode() Mode { return c.mode }

// PID1 is the container's init as seen from outside (0 when stopped).
func (c *Container) PID1() int { return c.pid1 }

// Boots counts the boots so far.
func (c *Container) Boots() int { return c.boots }

// Expand replaces {home}, {scandir}, {bin}, {standin}, {supervisor} and
// {dir} (the container's own directory, outside the volume) in s.
func (c *Container) Expand(s string) string {
	return strings.NewReplacer("{home}", c.Home, "{scandir}", c.Scandir, "{bin}", c.Bin.Dir,
		"{standin}", c.Bin.Standin, "{supervisor}", c.Bin.Supervisor, "{dir}", c.Dir).Replace(s)
}

// WriteConfig replaces hermes.toml (expanded as Options.Config is).
func (c *Container) WriteConfig(conf string) {
	c.t.Helper()
	// Atomically, as a careful operator would: a "supervisor run" that
	// starts meanwhile reads the old file or the new one, never a
	// truncated one (which would mean the built-in gateway command).
	tmp := c.Config + ".new"
	if err := os.WriteFile(tmp, []byte(c.Expand(conf)), 0o644); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, c.Config); err != nil {
		c.t.Fatal(err)
	}
}

// Env is the environment of PID 1 and of every Exec.
func (c *Container) Env() []string {
	return append([]string{
		"PATH=" + c.Bin.Dir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/command",
		"HERMES_CONFIG=" + c.Config,
		"HERMES_HOME=" + c.Home,
		"S6_PROFILE_GATEWAY_SCANDIR=" + c.Scandir,
		"HERMES_E2E_CONTAINER=" + c.id,
		"LANG=C",
	}, c.opts.Env...)
}

func (c *Container) initArgs() []string {
	if c.opts.Init != nil {
		return c.opts.Init(c)
	}
	return []string{c.Bin.Supervisor, "init"}
}

// Start boots the container: a fresh scandir, then PID 1.
func (c *Container) Start() {
	c.t.Helper()
	if c.cmd != nil {
		c.t.Fatal("container: Start while running")
	}
	if c.opts.Init == nil {
		if err := c.Bin.NeedSupervisor(); err != nil {
			c.t.Fatal(err)
		}
	}
	c.bootStart = fileSize(c.BootLogPath())
	console, err := os.OpenFile(c.Console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer console.Close()
	fmt.Fprintf(console, "==== boot %d (%s)\n", c.boots+1, c.mode)
	args := c.initArgs()
	var cmd *exec.Cmd
	if c.mode == Namespaced {
		script := `mount -t tmpfs -o mode=0755 tmpfs "$0" && exec "$@"`
		for _, d := range c.opts.PrivateDirs {
			script = `mount -t tmpfs -o mode=0755 tmpfs '` + d + `' && ` + script
		}
		full := append([]string{"--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc", "--mount", "--propagation", "private",
			"sh", "-c", script, c.Scandir}, args...)
		cmd = exec.Command("unshare", full...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	} else {
		if err := os.RemoveAll(c.Scandir); err != nil {
			c.t.Fatal(err)
		}
		if err := os.MkdirAll(c.Scandir, 0o755); err != nil {
			c.t.Fatal(err)
		}
		cmd = exec.Command(args[0], args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	cmd.Env = c.Env()
	cmd.Dir = c.Home
	cmd.Stdout, cmd.Stderr = console, console
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("container: start %v: %v", cmd.Args, err)
	}
	c.cmd = cmd
	c.done = make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	c.boots++
	if c.mode == Plain {
		c.pid1 = cmd.Process.Pid
		return
	}
	// PID 1 of the namespace is unshare's only child.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pid := childOf(cmd.Process.Pid); pid > 0 && nsPid(pid) == 1 {
			c.pid1 = pid
			break
		}
		select {
		case <-c.done:
			c.cmd = nil
			c.t.Fatalf("container: unshare exited at once (%v); console:\n%s", c.waitErr, tail(c.Console, 40))
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatal("container: PID 1 of the namespace never appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The scandir is mounted before init is exec'd: wait for the mount.
	for !c.scandirMounted() {
		select {
		case <-c.done:
			c.cmd = nil
			c.t.Fatalf("container: PID 1 exited during boot (%v); console:\n%s", c.waitErr, tail(c.Console, 40))
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("container: tmpfs never mounted on the scandir; console:\n%s", tail(c.Console, 40))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stopped says how a container went down.
type Stopped struct {
	Killed bool          // SIGKILLed after the grace: init did not exit on SIGTERM
	After  time.Duration // from SIGTERM to PID 1's exit
	Err    error         // PID 1's (unshare's) exit status
}

// Stop is "docker stop": SIGTERM to PID 1, wait for it to exit, SIGKILL
// after the grace.
func (c *Container) Stop() Stopped {
	c.t.Helper()
	if c.cmd == nil {
		c.t.Fatal("container: Stop while not running")
	}
	grace := c.opts.KillGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	start := time.Now()
	var st Stopped
	if err := syscall.Kill(c.pid1, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		c.t.Fatalf("container: SIGTERM to PID 1 (%d): %v", c.pid1, err)
	}
	select {
	case <-c.done:
	case <-time.After(grace):
		st.Killed = true
		c.t.Logf("container: PID 1 still up %s after SIGTERM: SIGKILL", grace)
		syscall.Kill(c.pid1, syscall.SIGKILL)
		<-c.done
	}
	st.After = time.Since(start)
	st.Err = c.waitErr
	if c.mode == Plain {
		c.killLeftovers()
	}
	c.cmd, c.pid1 = nil, 0
	return st
}

// Restart is "docker restart": Stop, then Start.
func (c *Container) Restart() Stopped {
	c.t.Helper()
	st := c.Stop()
	c.Start()
	return st
}

// kill takes everything down at once (test cleanup).
func (c *Container) kill() {
	if c.cmd == nil {
		return
	}
	syscall.Kill(c.pid1, syscall.SIGKILL)
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
	if c.mode == Plain {
		c.killLeftovers()
	}
	c.cmd, c.pid1 = nil, 0
}

// killLeftovers kills, in the plain fallback, every process that inherited
// this container's marker from its environment (s6-supervise, gateways):
// without a PID namespace nothing else takes them down.
func (c *Container) killLeftovers() {
	mark := []byte("HERMES_E2E_CONTAINER=" + c.id + "\x00")
	for range 50 {
		ents, _ := os.ReadDir("/proc")
		found := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			if err == nil && bytes.Contains(env, mark) {
				syscall.Kill(pid, syscall.SIGKILL)
				found++
			}
		}
		if found == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Result is what an Exec returned.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int // -1 when it could not run
}

// OK reports exit code 0.
func (r Result) OK() bool { return r.Code == 0 }

func (r Result) String() string {
	return fmt.Sprintf("%q exited %d\nstdout: %s\nstderr: %s", r.Args, r.Code, r.Stdout, r.Stderr)
}

// Exec runs a command inside the container as root, like `docker exec`.
func (c *Container) Exec(args ...string) Result { return c.exec(0, args) }

// ExecAs runs a command inside the container as uid (and gid) uid, like
// `docker exec -u`.
func (c *Container) ExecAs(uid int, args ...string) Result { return c.exec(uid, args) }

// Supervisor runs the supervisor binary inside the container as root.
func (c *Container) Supervisor(args ...string) Result {
	return c.exec(0, append([]string{c.Bin.Supervisor}, args...))
}

// SupervisorAs runs the supervisor binary inside the container as uid.
func (c *Container) SupervisorAs(uid int, args ...string) Result {
	return c.exec(uid, append([]string{c.Bin.Supervisor}, args...))
}

func (c *Container) exec(uid int, args []string) Result {
	c.t.Helper()
	if c.cmd == nil {
		c.t.Fatalf("container: exec %q while the container is not running", args)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	if c.mode == Namespaced {
		full := []string{"--target", strconv.Itoa(c.pid1), "--pid", "--mount"}
		if uid != 0 {
			full = append(full, "--setuid", strconv.Itoa(uid), "--setgid", strconv.Itoa(uid))
		}
		cmd = exec.CommandContext(ctx, "nsenter", append(append(full, "--"), args...)...)
	} else {
		cmd = exec.CommandContext(ctx, args[0], args[1:]...)
		if uid != 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		}
	}
	cmd.Env = c.Env()
	cmd.Dir = c.Home
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := Result{Args: args, Stdout: so.String(), Stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		r.Code = -1
		r.Stderr += err.Error()
	}
	return r
}

// Path maps a path inside the container to one the test can open from
// outside: the scandir's tmpfs is only visible through PID 1's root.
func (c *Container) Path(inside string) string {
	if c.mode == Namespaced && c.pid1 != 0 {
		return filepath.Join("/proc", strconv.Itoa(c.pid1), "root", inside)
	}
	return inside
}

// Slot is the outside-visible path of profile's s6 slot.
func (c *Container) Slot(profile string) string {
	return c.Path(filepath.Join(c.Scandir, "gateway-"+profile))
}

// SlotInside is profile's slot as seen inside the container.
func (c *Container) SlotInside(profile string) string {
	return filepath.Join(c.Scandir, "gateway-"+profile)
}

func (c *Container) scandirMounted() bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.pid1), "mountinfo"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == c.Scandir && strings.Contains(line, " - tmpfs ") {
			return true
		}
	}
	return false
}

// Mounts returns the mount points of PID 1's namespace (for assertions
// that the scandir is a tmpfs of its own).
func (c *Container) ScandirIsTmpfs() bool { return c.mode == Namespaced && c.scandirMounted() }

func (c *Container) dumpDiagnostics() {
	c.t.Logf("container %s diagnostics (%d boots, %s):\n-- console (tail):\n%s\n-- boot log (tail):\n%s",
		c.id, c.boots, c.mode, tail(c.Console, 60), tail(c.BootLogPath(), 40))
	// Each gateway's s6-log: where "supervisor run" reports why it exited.
	logs, _ := filepath.Glob(filepath.Join(c.Home, "logs", "gateways", "*", "current"))
	for _, l := range logs {
		c.t.Logf("-- %s (tail):\n%s", l, tail(l, 20))
	}
}

func childOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// nsPid is pid's number in its innermost PID namespace (0 when unknown).
func nsPid(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			if len(f) < 2 {
				return 0
			}
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return 0
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
