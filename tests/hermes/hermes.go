// Package hermes lets tests run the real hermes-agent next to the
// supervisor: upstream's container-boot reconciler on a volume
// (reconcile.py), upstream's readers on a profile directory
// (inspect_profile.py), and a generator of volumes that exercise the boot
// rules (see Cases). It is test code: it imports no package of the product,
// and the product must not import it.
//
// hermes-agent is installed by tests/hermes/install.sh into a virtual
// environment; Venv says where (HERMES_AGENT_VENV, else
// /opt/hermes-agent-venv). The Python drivers are embedded and run with
// that venv's interpreter (python -c), so the package works from any
// working directory.
package hermes

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Version is the hermes-agent release the tests pin (tests/hermes/install.sh).
const Version = "0.19.0"

// DefaultVenv is where install.sh puts the venv when HERMES_AGENT_VENV is unset.
const DefaultVenv = "/opt/hermes-agent-venv"

//go:embed reconcile.py
var reconcilePy string

//go:embed inspect_profile.py
var inspectPy string

// ErrNotInstalled is wrapped when the venv holds no usable hermes-agent.
var ErrNotInstalled = errors.New("hermes-agent is not installed")

// Venv is the virtual environment holding hermes-agent.
type Venv struct{ Dir string }

// FindVenv returns the venv named by HERMES_AGENT_VENV (else DefaultVenv)
// after checking that it holds hermes-agent Version. The error says how to
// install it.
func FindVenv() (Venv, error) {
	dir := os.Getenv("HERMES_AGENT_VENV")
	if dir == "" {
		dir = DefaultVenv
	}
	v := Venv{Dir: dir}
	out, err := exec.Command(v.Python(), "-c",
		`from importlib.metadata import version; print(version("hermes-agent"))`).Output()
	if err != nil {
		return v, fmt.Errorf("hermes: %s: %w (run tests/hermes/install.sh %s)", v.Python(), ErrNotInstalled, dir)
	}
	if got := strings.TrimSpace(string(out)); got != Version {
		return v, fmt.Errorf("hermes: %s holds hermes-agent %s, want %s: %w (run tests/hermes/install.sh %s)",
			dir, got, Version, ErrNotInstalled, dir)
	}
	return v, nil
}

// RunnableByOthers fails when the venv's interpreter cannot be run by
// another user (the gateway runs as the gateway user): its real file, or
// a directory above it, is closed to others (a pyenv under /root).
func (v Venv) RunnableByOthers() error {
	real, err := filepath.EvalSymlinks(v.Python())
	if err != nil {
		return fmt.Errorf("hermes: %s: %w", v.Python(), err)
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("hermes: %s: %w", p, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("hermes: %s (the interpreter of %s) is under %s, which other users cannot enter or run: the gateway user cannot run it; remove %s and run tests/hermes/install.sh %s (it picks a system Python)",
				real, v.Dir, p, v.Dir, v.Dir)
		}
		if p == "/" {
			return nil
		}
	}
}

// Python is the venv's interpreter.
func (v Venv) Python() string { return filepath.Join(v.Dir, "bin", "python") }

// Hermes is the venv's hermes command.
func (v Venv) Hermes() string { return filepath.Join(v.Dir, "bin", "hermes") }

// ReconcileOptions are the inputs of upstream's boot besides the volume.
type ReconcileOptions struct {
	// Apply runs the real reconciliation (sweeps, slots, boot log) on the
	// volume, with Scandir as the scan directory. Run it on a scratch copy.
	Apply   bool
	Scandir string
	// Argv is the container command the legacy-migration rule inspects
	// (nil: none).
	Argv []string
	// Bootstrap is HERMES_GATEWAY_BOOTSTRAP_STATE, applied as upstream's
	// stage2 hook does before the reconciler (needs Apply).
	Bootstrap string
	// Env is added to the driver's environment (GATEWAY_MULTIPLEX_PROFILES,
	// HERMES_GATEWAY_NO_SUPERVISE).
	Env []string
	// PID1, when not nil, runs the driver in a PID namespace of its own
	// whose PID 1 has this argv (see InContainer), and lets upstream read
	// the container's command from /proc as it does in a container
	// (Argv is then ignored).
	PID1 []string
}

// UpstreamProfile is one profile line of reconcile.py.
type UpstreamProfile struct {
	Profile       string          `json:"profile"`
	ProfileHex    string          `json:"profile_hex"`
	PriorState    json.RawMessage `json:"prior_state"` // null, a string, or any JSON value
	PriorStateLog string          `json:"prior_state_log"`
	Action        string          `json:"action"`
	PriorExit     string          `json:"prior_exit"`      // "n/a" before upstream had a ledger
	PriorExitRule string          `json:"prior_exit_rule"` // upstream main's rule, re-implemented
}

// Name is the profile's directory name as bytes (names need not be UTF-8).
func (p UpstreamProfile) Name() string {
	b, err := hex.DecodeString(p.ProfileHex)
	if err != nil {
		return p.Profile
	}
	return string(b)
}

// Upstream is what upstream's reconciler did with a volume.
type Upstream struct {
	Profiles  []UpstreamProfile
	LogLines  []string          // Apply: lines appended to logs/container-boot.log
	Swept     []string          // Apply: "<dir>/<file>" runtime files removed (dir "." is the root)
	Slots     map[string]bool   // Apply: slot name -> has a down file
	OK        bool              // false: the reconciler raised (the whole boot fails)
	ErrorType string            // the exception's type when !OK
	Error     string            // its message
	Raw       []json.RawMessage // every line, as printed
}

// Reconcile runs upstream's reconciler on home.
func (v Venv) Reconcile(ctx context.Context, home string, o ReconcileOptions) (Upstream, error) {
	args := []string{"-c", reconcilePy, "--home", home}
	if o.Apply {
		args = append(args, "--apply", "--scandir", o.Scandir)
	}
	if o.PID1 != nil {
		args = append(args, "--read-proc")
	} else if o.Argv != nil {
		b, _ := json.Marshal(o.Argv)
		args = append(args, "--argv", string(b))
	}
	if o.Bootstrap != "" {
		args = append(args, "--bootstrap-state", o.Bootstrap)
	}
	cmd := exec.CommandContext(ctx, v.Python(), args...)
	cmd.Env = append(cleanEnv(), o.Env...)
	if o.PID1 != nil {
		var err error
		if cmd, err = InContainer(ctx, cmd, o.PID1); err != nil {
			return Upstream{}, err
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Upstream{}, fmt.Errorf("hermes: reconcile.py on %s: %w: %s", home, err, lastLine(stderr.String()))
	}
	var u Upstream
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	done := false
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		u.Raw = append(u.Raw, line)
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(line, &kind); err != nil {
			return u, fmt.Errorf("hermes: reconcile.py printed %q: %w", line, err)
		}
		switch kind.Kind {
		case "profile":
			var p UpstreamProfile
			if err := json.Unmarshal(line, &p); err != nil {
				return u, fmt.Errorf("hermes: reconcile.py profile line %q: %w", line, err)
			}
			u.Profiles = append(u.Profiles, p)
		case "log":
			var l struct{ Line string }
			_ = json.Unmarshal(line, &l)
			u.LogLines = append(u.LogLines, l.Line)
		case "swept":
			var s struct {
				ProfileDirHex string `json:"profile_dir_hex"`
				File          string `json:"file"`
			}
			_ = json.Unmarshal(line, &s)
			d, _ := hex.DecodeString(s.ProfileDirHex)
			u.Swept = append(u.Swept, string(d)+"/"+s.File)
		case "slot":
			var s struct {
				Name string `json:"name"`
				Down bool   `json:"down"`
			}
			_ = json.Unmarshal(line, &s)
			if u.Slots == nil {
				u.Slots = map[string]bool{}
			}
			u.Slots[s.Name] = s.Down
		case "result":
			var r struct {
				OK        bool   `json:"ok"`
				ErrorType string `json:"error_type"`
				Error     string `json:"error"`
			}
			_ = json.Unmarshal(line, &r)
			u.OK, u.ErrorType, u.Error, done = r.OK, r.ErrorType, r.Error, true
		}
	}
	if !done {
		return u, fmt.Errorf("hermes: reconcile.py on %s printed no result line", home)
	}
	return u, nil
}

// View is hermes' own reading of a profile directory (inspect_profile.py);
// the keys are documented there.
type View map[string]any

// Inspect reads a profile directory with upstream's readers. pid > 0 also
// asks whether the planned-stop marker names that process; statusCLI also
// runs `hermes gateway status` (not read-only: see inspect_profile.py).
// Pids are this process's: a gateway in another PID namespace (a test
// container) must be inspected from inside it (InspectArgs, ParseView).
func (v Venv) Inspect(ctx context.Context, dir string, pid int, statusCLI bool) (View, error) {
	args := v.InspectArgs(dir, pid, statusCLI)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hermes: inspect_profile.py %s: %w: %s", dir, err, lastLine(stderr.String()))
	}
	return ParseView(out)
}

// InspectArgs is the command line of Inspect, to run where the gateway's
// pids mean something (inside a test container); run it with no
// HERMES_HOME in its environment.
func (v Venv) InspectArgs(dir string, pid int, statusCLI bool) []string {
	args := []string{v.Python(), "-c", inspectPy, dir}
	if pid > 0 {
		args = append(args, "--pid", strconv.Itoa(pid))
	}
	if statusCLI {
		args = append(args, "--status-cli")
	}
	return args
}

// ParseView reads what inspect_profile.py printed.
func ParseView(out []byte) (View, error) {
	var view View
	if err := json.Unmarshal(out, &view); err != nil {
		return nil, fmt.Errorf("hermes: inspect_profile.py printed %q: %w", out, err)
	}
	return view, nil
}

// Int is the integer at key (a JSON number), or -1.
func (v View) Int(key string) int {
	if f, ok := v[key].(float64); ok {
		return int(f)
	}
	return -1
}

// String is the string at key, or "".
func (v View) String(key string) string {
	s, _ := v[key].(string)
	return s
}

// Map is the object at key, or nil.
func (v View) Map(key string) map[string]any {
	m, _ := v[key].(map[string]any)
	return m
}

// Fights are the lines of a gateway's logs that say two gateways (or a
// gateway and its supervisor) fought over the identity files, or that the
// previous life died uncleanly: none may appear under the supervisor.
var Fights = []string{
	"FileExistsError",
	"PID file race lost",
	"runtime lock is already held",
	"Gateway already running",
	"Replacing existing gateway instance",
	"planned --replace takeover",
	"exited UNCLEANLY",
	"previous_unclean_exit",
	"Traceback (most recent call last)",
}

// cleanEnv is the environment without the variables that would steer
// hermes or the reconciler away from what a test passes explicitly.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HERMES_HOME", "GATEWAY_MULTIPLEX_PROFILES", "HERMES_GATEWAY_NO_SUPERVISE",
			"HERMES_GATEWAY_BOOTSTRAP_STATE", "S6_PROFILE_GATEWAY_SCANDIR", "HERMES_S6_SUPERVISED_CHILD":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
