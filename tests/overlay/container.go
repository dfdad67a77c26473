package overlay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// HermesUID is the image's unprivileged user (the fragment creates it).
const HermesUID = 10000

// DefaultConfig is the hermes.toml baked into the test image: the stand-in
// gateway (installed at /usr/local/bin/standin-gateway before the
// fragment), the hermes user, stop_grace 10s. A profile.toml may replace
// the command (fast and slow gateways).
const DefaultConfig = `[gateway]
command = ["/usr/local/bin/standin-gateway", "--notify-after", "100ms", "--"]
user = "hermes"
stop_grace = "10s"
ready_after = "2s"
`

// Options shape a container.
type Options struct {
	// Fragment is the Dockerfile fragment; "" is the module's
	// s6/overlay/Dockerfile.fragment.
	Fragment string
	// Context lists directories searched for COPY sources before the
	// module root.
	Context []string
	// Config is hermes.toml (COPY hermes.toml); "" is DefaultConfig.
	Config string
	// Env overrides the image's ENV, as `docker run -e` does.
	Env map[string]string
	// StopTimeout is `docker stop -t`: SIGKILL to PID 1 that long after
	// SIGTERM. 0 means 60 s (long enough to observe the init's own stop).
	StopTimeout time.Duration
	// Volume is the host directory mounted at /opt/data; "" makes a new one.
	// Two containers given the same Volume are a recreate.
	Volume string
	// Binds are read-only bind mounts of host paths, made at every Start
	// in PID 1's mount namespace before the chroot, in this order. A
	// missing target is created in the container's writable layer.
	Binds []Bind
}

// Bind is a read-only bind mount of a host file or directory into the
// container (`docker run -v HOST:AT:ro`).
type Bind struct {
	Host string // on the host
	At   string // in the container, symlinks resolved there; "" is Host
}

// Container is one container: an image, its writable layer, its volume, and
// while it runs, PID 1 in fresh PID, mount, UTS and IPC namespaces.
type Container struct {
	t     testing.TB
	opts  Options
	Image *Image
	Dist  Dist
	Bin   container.Binaries

	Dir     string // this container's files on the host
	Volume  string // the volume (host side)
	Console string // PID 1's output with time offsets, every boot appended

	upper, work, root string
	env               []string

	mu       sync.Mutex
	lines    []Line
	cmd      *exec.Cmd
	pid1     int
	done     chan struct{}
	exitedAt time.Time
	waitErr  error
	holder   *exec.Cmd
	boots    int
	booted   time.Time
	sentinel []*Sentinel
}

// Line is one line PID 1 wrote, stamped when the harness read it.
type Line struct {
	At   time.Time
	Text string
}

// New builds (or reuses) the image and makes a container, not yet started.
// It fails the test when s6-overlay cannot be found or built, saying how.
func New(t testing.TB, opts Options) *Container {
	t.Helper()
	d, err := Locate()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := container.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []error{bin.NeedSupervisor(), bin.NeedStandin()} {
		if e != nil {
			t.Fatal(e)
		}
	}
	for _, b := range []string{"unshare", "nsenter", "chroot", "mount"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("overlay: %s not found: install util-linux and coreutils", b)
		}
	}
	root, err := container.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Fragment == "" {
		opts.Fragment = filepath.Join(root, "s6", "overlay", "Dockerfile.fragment")
	}
	if opts.Config == "" {
		opts.Config = DefaultConfig
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 60 * time.Second
	}
	work, err := WorkDir()
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", hashString(opts.Config))
	cfg := filepath.Join(work, "hermes-"+sum[:12]+".toml")
	if err := os.WriteFile(cfg, []byte(opts.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	im, err := BuildImage(d, Build{
		Fragment: opts.Fragment,
		Files:    map[string]string{"bin/supervisor": bin.Supervisor, "standin-gateway": bin.Standin, "hermes.toml": cfg},
		Context:  append(append([]string(nil), opts.Context...), root),
		Before:   []Instruction{{Cmd: "COPY", Args: "standin-gateway /usr/local/bin/standin-gateway"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &Container{t: t, opts: opts, Image: im, Dist: d, Bin: bin, Dir: dir,
		Console: filepath.Join(dir, "console.log"),
		upper:   filepath.Join(dir, "upper"), work: filepath.Join(dir, "work"), root: filepath.Join(dir, "root")}
	c.Volume = opts.Volume
	if c.Volume == "" {
		c.Volume = filepath.Join(dir, "volume")
		if err := os.MkdirAll(c.Volume, 0o755); err != nil {
			t.Fatal(err)
		}
		// Docker fills an empty named volume from the image: /opt/data is
		// the hermes user's.
		if err := os.Chown(c.Volume, HermesUID, HermesUID); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{c.upper, c.work, c.root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	for _, kv := range im.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["HOSTNAME"] = "hermes-overlay"
	env["HOME"] = "/root"
	for k, v := range opts.Env {
		env[k] = v
	}
	for _, k := range keys(env) {
		c.env = append(c.env, k+"="+env[k])
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpDiagnostics()
		}
		c.kill()
	})
	return c
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Env is the container's environment (image ENV with the -e overrides).
func (c *Container) Env() []string { return append([]string(nil), c.env...) }

// PID1 is the container's init as seen from the host (0 when stopped).
func (c *Container) PID1() int { return c.pid1 }

// Boots counts the boots so far.
func (c *Container) Boots() int { return c.boots }

// VolumeAt is where the volume is mounted in the container (the image's
// first VOLUME, else /opt/data).
func (c *Container) VolumeAt() string {
	if len(c.Image.Volumes) > 0 {
		return c.Image.Volumes[0]
	}
	return "/opt/data"
}

// Uptime is how long ago this boot started.
func (c *Container) Uptime() time.Duration { return time.Since(c.booted) }

// bootScript runs as PID 1 of the new namespaces before it execs the
// entrypoint in the chroot: the root filesystem (overlayfs of the image's
// layers and the container's upper directory), /proc, a minimal /dev, a
// tmpfs /run, the volume and the binds (NB pairs HOST AT), as Docker sets
// them up. A bind's target is resolved inside the root (realpath in the
// chroot), so that a symlink of the image never leads a mount or a mkdir
// onto the host.
const bootScript = `set -e
R=$1 LOWER=$2 UPPER=$3 WORK=$4 VOL=$5 VOLAT=$6 NB=$7
shift 7
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK" "$R"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mkdir -p "$R$VOLAT"
mount --bind "$VOL" "$R$VOLAT"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir "$R/dev/shm" "$R/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
while [ "$NB" -gt 0 ]; do
  t=$R$(chroot "$R" realpath -m -- "$2")
  if [ -d "$1" ]; then mkdir -p "$t"; else mkdir -p "${t%/*}"; [ -e "$t" ] || : > "$t"; fi
  mount -o bind,ro "$1" "$t"
  shift 2; NB=$((NB - 1))
done
hostname "$HOSTNAME"
cd "$R"
exec chroot "$R" "$@"
`

// Start boots the container: PID 1 is the image's entrypoint (/init) in
// fresh PID, mount, UTS and IPC namespaces, chrooted into its root. It
// returns once PID 1 is s6-svscan; WaitBooted waits for stage 2 to end.
func (c *Container) Start() {
	c.t.Helper()
	if c.cmd != nil {
		c.t.Fatal("overlay: Start while running")
	}
	c.killHolder()
	console, err := os.OpenFile(c.Console, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(console, "==== boot %d\n", c.boots+1)
	args := []string{"--pid", "--mount", "--uts", "--ipc", "--fork", "--kill-child=SIGKILL", "--propagation", "private",
		"--", "/bin/sh", "-c", bootScript, "boot",
		c.root, c.Image.Layer + ":" + c.Image.Base, c.upper, c.work, c.Volume, c.VolumeAt(), strconv.Itoa(len(c.opts.Binds))}
	for _, b := range c.opts.Binds {
		at := b.At
		if at == "" {
			at = b.Host
		}
		if !filepath.IsAbs(b.Host) || !filepath.IsAbs(at) {
			c.t.Fatalf("overlay: bind %s:%s: both paths must be absolute", b.Host, at)
		}
		args = append(args, b.Host, at)
	}
	args = append(args, c.Image.Entrypoint...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = c.env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("overlay: start %v: %v", cmd.Args, err)
	}
	pw.Close()
	c.mu.Lock()
	c.lines = nil
	c.mu.Unlock()
	c.booted = time.Now()
	read := make(chan struct{})
	go c.readConsole(pr, console, c.booted, read)
	c.cmd = cmd
	c.done = make(chan struct{})
	c.exitedAt = time.Time{}
	c.sentinel = nil
	go func() {
		err := cmd.Wait()
		at := time.Now()
		<-read
		c.mu.Lock()
		c.waitErr, c.exitedAt = err, at
		c.mu.Unlock()
		close(c.done)
	}()
	c.boots++
	deadline := time.Now().Add(20 * time.Second)
	for {
		if pid := childOf(cmd.Process.Pid); pid > 0 && nsPid(pid) == 1 && comm(pid) == "s6-svscan" {
			c.pid1 = pid
			break
		}
		select {
		case <-c.done:
			c.cmd = nil
			c.t.Fatalf("overlay: the container exited during boot (%v); console:\n%s", c.waitErr, c.ConsoleText())
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("overlay: PID 1 never became s6-svscan; console:\n%s", c.ConsoleText())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A process that only shares the container's mount namespace, outside
	// its PID namespace: it survives the stop, so that /run (a tmpfs of
	// that namespace) can be read after the container is gone.
	h := exec.Command("nsenter", "--target", strconv.Itoa(c.pid1), "--mount", "--root", "--", "/bin/sleep", "infinity")
	h.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.Start(); err != nil {
		c.t.Fatalf("overlay: nsenter the mount namespace: %v", err)
	}
	c.holder = h
}

func (c *Container) readConsole(r io.ReadCloser, out *os.File, start time.Time, done chan struct{}) {
	defer close(done)
	defer out.Close()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		now := time.Now()
		c.mu.Lock()
		c.lines = append(c.lines, Line{At: now, Text: sc.Text()})
		c.mu.Unlock()
		fmt.Fprintf(out, "%+10.6f %s\n", now.Sub(start).Seconds(), sc.Text())
	}
}

// Lines returns what PID 1 printed during this boot.
func (c *Container) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// ConsoleText is this boot's console, one line each.
func (c *Container) ConsoleText() string {
	var b strings.Builder
	for _, l := range c.Lines() {
		fmt.Fprintf(&b, "%+10.6f %s\n", l.At.Sub(c.booted).Seconds(), l.Text)
	}
	return b.String()
}

// WaitBooted waits for stage 2 to end: s6-overlay's rc.init has brought the
// services up (and run cont-init.d) and exited. It fails the test when the
// container exits or the deadline passes.
func (c *Container) WaitBooted(deadline time.Duration) {
	c.t.Helper()
	end := time.Now().Add(deadline)
	for {
		select {
		case <-c.done:
			c.t.Fatalf("overlay: the container exited during stage 2 (%v); console:\n%s", c.waitErr, c.ConsoleText())
		default:
		}
		if c.stage2Done() {
			return
		}
		if time.Now().After(end) {
			c.t.Fatalf("overlay: stage 2 (rc.init) still running after %s; console:\n%s", deadline, c.ConsoleText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stage2Done: s6-svscan supervises s6-linux-init-shutdownd, and no
// process of the container runs rc.init.
func (c *Container) stage2Done() bool {
	if c.pid1 == 0 {
		return false
	}
	sawShutdownd := false
	for _, p := range descendants(c.pid1) {
		cl := cmdline(p)
		if strings.Contains(cl, "rc.init") {
			return false
		}
		if strings.HasPrefix(cl, "s6-linux-init-shutdownd") || strings.Contains(cl, "/s6-linux-init-shutdownd") {
			sawShutdownd = true
		}
	}
	return sawShutdownd
}

// Result is what an Exec returned: the simulated container's type.
type Result = container.Result

// Exec is `docker exec` as root.
func (c *Container) Exec(args ...string) Result { return c.exec(0, args) }

// ExecAs is `docker exec -u uid`.
func (c *Container) ExecAs(uid int, args ...string) Result { return c.exec(uid, args) }

// Supervisor runs `supervisor ARGS` in the container as uid.
func (c *Container) Supervisor(uid int, args ...string) Result {
	return c.exec(uid, append([]string{"supervisor"}, args...))
}

func (c *Container) nsenter(uid int) []string {
	a := []string{"--target", strconv.Itoa(c.pid1), "--pid", "--mount", "--uts", "--ipc", "--root", "--wd"}
	if uid != 0 {
		a = append(a, "--setuid", strconv.Itoa(uid), "--setgid", strconv.Itoa(uid))
	}
	return append(a, "--")
}

func (c *Container) execEnv(uid int) []string {
	env := c.Env()
	if uid == HermesUID {
		for i, e := range env {
			if strings.HasPrefix(e, "HOME=") {
				env[i] = "HOME=/opt/data"
			}
		}
	}
	return env
}

func (c *Container) exec(uid int, args []string) Result {
	c.t.Helper()
	if c.cmd == nil {
		c.t.Fatalf("overlay: exec %q while the container is not running", args)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append(c.nsenter(uid), args...)...)
	cmd.Env = c.execEnv(uid)
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

// Sentinel is a process started in the container outside s6 (as `docker
// exec -d` would): only stage 3's kill(-1) reaches it, so it shows when
// that happened.
type Sentinel struct {
	Name       string
	IgnoreTerm bool
	events     string // inside the container
	cmd        *exec.Cmd
	done       chan struct{}
	exitedAt   time.Time
}

// StartSentinel starts a stand-in gateway in the container, outside s6.
// With ignoreTerm it dies only of SIGKILL; the host sees when.
func (c *Container) StartSentinel(name string, ignoreTerm bool) *Sentinel {
	c.t.Helper()
	s := &Sentinel{Name: name, IgnoreTerm: ignoreTerm, events: fmt.Sprintf("/tmp/sentinel-%s-boot%d.events", name, c.boots), done: make(chan struct{})}
	args := append(c.nsenter(0), "/usr/local/bin/standin-gateway", "--events", s.events)
	if ignoreTerm {
		args = append(args, "--ignore-term")
	}
	s.cmd = exec.Command("nsenter", args...)
	s.cmd.Env = c.Env()
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		c.t.Fatalf("overlay: sentinel %s: %v", name, err)
	}
	go func() {
		s.cmd.Wait()
		s.exitedAt = time.Now()
		close(s.done)
	}()
	if !container.Poll(5*time.Second, func() bool {
		data, _ := os.ReadFile(c.Path(s.events))
		return strings.HasPrefix(string(data), "start")
	}) {
		c.t.Fatalf("overlay: sentinel %s never started", name)
	}
	c.sentinel = append(c.sentinel, s)
	return s
}

// Stopped says how a container went down.
type Stopped struct {
	Start   time.Time     // SIGTERM sent to PID 1
	After   time.Duration // SIGTERM to PID 1's exit
	Killed  bool          // the runtime SIGKILLed PID 1 at the stop timeout
	TermAll time.Duration // stage 3's kill(-1, SIGTERM), from a sentinel (-1: unseen)
	KillAll time.Duration // stage 3's kill(-1, SIGKILL), from a sentinel (-1: unseen)
	Lines   []Line        // what PID 1 printed after SIGTERM
	Err     error
}

// Stop is `docker stop -t StopTimeout`: SIGTERM to PID 1, SIGKILL at the
// timeout. With sentinels started (StartSentinel), it also reports when
// stage 3 sent kill(-1, SIGTERM) and kill(-1, SIGKILL).
func (c *Container) Stop() Stopped {
	c.t.Helper()
	if c.cmd == nil {
		c.t.Fatal("overlay: Stop while not running")
	}
	st := Stopped{Start: time.Now(), TermAll: -1, KillAll: -1}
	if err := syscall.Kill(c.pid1, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		c.t.Fatalf("overlay: SIGTERM to PID 1 (%d): %v", c.pid1, err)
	}
	select {
	case <-c.done:
	case <-time.After(c.opts.StopTimeout):
		st.Killed = true
		c.t.Logf("overlay: PID 1 still up %s after SIGTERM: SIGKILL (the runtime's stop timeout)", c.opts.StopTimeout)
		syscall.Kill(c.pid1, syscall.SIGKILL)
		<-c.done
	}
	c.mu.Lock()
	st.After = c.exitedAt.Sub(st.Start)
	st.Err = c.waitErr
	for _, l := range c.lines {
		if !l.At.Before(st.Start) {
			st.Lines = append(st.Lines, l)
		}
	}
	c.mu.Unlock()
	for _, s := range c.sentinel {
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			c.t.Logf("overlay: sentinel %s outlived the container", s.Name)
			continue
		}
		if s.IgnoreTerm {
			st.KillAll = s.exitedAt.Sub(st.Start)
			continue
		}
		if at, ok := c.signalTime(s.events); ok {
			st.TermAll = at.Sub(st.Start)
		}
	}
	c.cmd, c.pid1 = nil, 0
	return st
}

// signalTime reads the first "signal TERM <ns>" of a stand-in's events file.
func (c *Container) signalTime(inside string) (time.Time, bool) {
	data, err := os.ReadFile(c.Path(inside))
	if err != nil {
		return time.Time{}, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "signal" && f[1] == "TERM" {
			if ns, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				return time.Unix(0, ns), true
			}
		}
	}
	return time.Time{}, false
}

// Path maps a path inside the container to one the host can open. It works
// after the container stopped too (until the next Start): the harness keeps
// the container's mount namespace, /run included.
func (c *Container) Path(inside string) string {
	if c.holder != nil && c.holder.Process != nil {
		return filepath.Join("/proc", strconv.Itoa(c.holder.Process.Pid), "root", inside)
	}
	return filepath.Join(c.upper, inside)
}

// VolumePath is a path on the volume, from the host.
func (c *Container) VolumePath(rel ...string) string {
	return filepath.Join(append([]string{c.Volume}, rel...)...)
}

func (c *Container) killHolder() {
	if c.holder != nil && c.holder.Process != nil {
		c.holder.Process.Kill()
		c.holder.Wait()
	}
	c.holder = nil
}

// kill takes everything down at once (test cleanup).
func (c *Container) kill() {
	if c.cmd != nil {
		syscall.Kill(c.pid1, syscall.SIGKILL)
		if c.cmd.Process != nil {
			c.cmd.Process.Kill()
		}
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
		}
		c.cmd, c.pid1 = nil, 0
	}
	for _, s := range c.sentinel {
		if s.cmd.Process != nil {
			s.cmd.Process.Kill()
		}
	}
	c.killHolder()
}

func (c *Container) dumpDiagnostics() {
	c.t.Logf("overlay container (%d boots, image layer %s) console:\n%s", c.boots, c.Image.Layer, lastLines(readFile(c.Console), 80))
	logs, _ := filepath.Glob(c.VolumePath("logs", "gateways", "*", "current"))
	for _, l := range logs {
		c.t.Logf("-- %s (tail):\n%s", l, lastLines(readFile(l), 15))
	}
	c.t.Logf("-- boot log (tail):\n%s", lastLines(readFile(c.VolumePath("logs", "container-boot.log")), 30))
}

func readFile(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(data)
}

func childOf(pid int) int {
	ch := children(pid)
	if len(ch) == 0 {
		return 0
	}
	return ch[0]
}

func children(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, ch := range children(p) {
			out = append(out, ch)
			queue = append(queue, ch)
		}
	}
	return out
}

func comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}

func cmdline(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
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
