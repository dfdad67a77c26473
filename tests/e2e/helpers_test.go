package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

func TestMain(m *testing.M) {
	code := m.Run()
	container.Cleanup()
	os.Exit(code)
}

// Deadlines: generous, since they bound polling, never assert speed.
const (
	bootDeadline = 30 * time.Second // the upstream suite's
	upDeadline   = 20 * time.Second
	pathDeadline = 10 * time.Second
)

// hermes is the unprivileged user every upstream `docker exec` runs as.
const hermes = container.HermesUID

// boot makes a container running `supervisor init` with conf (""
// for the default test configuration) and waits, like the upstream
// fixture, for the boot log to mention the default profile.
func boot(t *testing.T, conf string) *container.Container {
	t.Helper()
	require.NoError(t, container.HermesUser())
	c := container.New(t, container.Options{Config: conf})
	if err := c.Bin.NeedStandin(); err != nil {
		t.Fatal(err)
	}
	c.Start()
	c.WaitBoot(bootDeadline, "default")
	return c
}

// restart is `docker restart`, then the wait for the boot log to mention
// every profile named; it returns their boot-log lines.
func restart(t *testing.T, c *container.Container, profiles ...string) map[string]map[string]string {
	t.Helper()
	st := c.Restart()
	t.Logf("restart %d: PID 1 went down in %s (killed: %v)", c.Boots()-1, st.After.Round(time.Millisecond), st.Killed)
	return c.WaitBoot(bootDeadline, append([]string{"default"}, profiles...)...)
}

// run runs a supervisor command inside the container as uid and fails the
// test unless it exits 0.
func run(t *testing.T, c *container.Container, uid int, args ...string) container.Result {
	t.Helper()
	r := c.SupervisorAs(uid, args...)
	require.True(t, r.OK(), "%s", r)
	return r
}

// createProfile is `supervisor profile create NAME`.
func createProfile(t *testing.T, c *container.Container, uid int, name string) {
	t.Helper()
	run(t, c, uid, "profile", "create", name)
}

// stampState writes gateway_state.json from inside the container as the
// hermes user, as the upstream tests do with python.
func stampState(t *testing.T, c *container.Container, profile, state string) {
	t.Helper()
	writeAs(t, c, profile, "gateway_state.json", fmt.Sprintf(`{"gateway_state": %q, "timestamp": 1}`, state))
}

func writeAs(t *testing.T, c *container.Container, profile, name, data string) {
	t.Helper()
	p := filepath.Join(c.ProfileDir(profile), name)
	// Through a temporary file and a rename: a supervisor that reads the
	// file meanwhile sees the old content or the new, never a truncated one.
	r := c.ExecAs(hermes, "sh", "-c", `printf '%s' "$1" > "$2.new" && mv -f "$2.new" "$2"`, "sh", data, p)
	require.True(t, r.OK(), "%s", r)
}

// startGateway is `supervisor -p NAME gateway start`, then the wait for s6
// to report it up.
func startGateway(t *testing.T, c *container.Container, uid int, profile string) container.Status {
	t.Helper()
	run(t, c, uid, "-p", profile, "gateway", "start")
	return c.WaitUp(profile, upDeadline)
}

// waitState polls gateway_state.json until it says want.
func waitState(t *testing.T, c *container.Container, profile, want string) {
	t.Helper()
	var got string
	if !container.Poll(upDeadline, func() bool { got = c.GatewayState(profile); return got == want }) {
		m, err := c.State(profile)
		t.Fatalf("%s: gateway_state never became %q (last %q: %v, %v)", profile, want, got, m, err)
	}
}

// requireStarted asserts a boot line auto-started the profile and its slot
// came back without a down file and up under s6.
func requireStarted(t *testing.T, c *container.Container, line map[string]string, profile string) {
	t.Helper()
	require.NotNil(t, line, "no boot line for %s; boot log:\n%s", profile, c.BootLog())
	require.Equal(t, "started", line["action"], "boot line for %s: %v", profile, line)
	require.True(t, c.WaitPath(c.SlotInside(profile), pathDeadline), "slot gateway-%s not recreated after restart", profile)
	require.False(t, c.SlotHas(profile, "down"), "down file in gateway-%s despite action=started", profile)
	c.WaitUp(profile, upDeadline)
}

// requireDown asserts a boot line left the profile down: its slot exists,
// holds a down file, and s6 neither runs nor wants it.
func requireDown(t *testing.T, c *container.Container, line map[string]string, profile string) {
	t.Helper()
	require.NotNil(t, line, "no boot line for %s; boot log:\n%s", profile, c.BootLog())
	require.NotEqual(t, "started", line["action"], "boot line for %s: %v", profile, line)
	require.True(t, c.WaitPath(c.SlotInside(profile), pathDeadline), "slot gateway-%s missing after restart", profile)
	require.True(t, c.SlotHas(profile, "down"), "down file missing in gateway-%s, boot line %v", profile, line)
	st := c.WaitStatus(profile, upDeadline, "registered down", func(s container.Status) bool { return !s.Up && !s.WantedUp })
	require.False(t, st.NormallyUp, "s6 sees gateway-%s as normally up: %s", profile, st.Raw)
}

// statusJSON is `supervisor -p NAME gateway status --output json`, decoded.
func statusJSON(t *testing.T, c *container.Container, uid int, profile string) any {
	t.Helper()
	r := c.SupervisorAs(uid, "-p", profile, "gateway", "status", "--output", "json")
	require.Contains(t, []int{0, 3}, r.Code, "%s", r) // 3: LSB "not running" is acceptable for a stopped gateway
	var v any
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &v), "status --output json is not JSON: %q", r.Stdout)
	return v
}

// jsonHas reports whether v holds key with the string value want anywhere.
func jsonHas(v any, key, want string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == key && s == want {
				return true
			}
			if jsonHas(e, key, want) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if jsonHas(e, key, want) {
				return true
			}
		}
	}
	return false
}

// standin is the stand-in gateway's command line with knobs, as a TOML
// array for a [gateway] command.
func standin(c *container.Container, knobs ...string) string {
	q := []string{fmt.Sprintf("%q", c.Bin.Standin)}
	for _, k := range knobs {
		q = append(q, fmt.Sprintf("%q", k))
	}
	q = append(q, `"--"`) // profile_args ("-p NAME") are not the stand-in's flags
	return "[" + strings.Join(q, ", ") + "]"
}

// setProfileConfig replaces a profile's profile.toml (as the hermes user).
func setProfileConfig(t *testing.T, c *container.Container, profile, toml string) {
	t.Helper()
	writeAs(t, c, profile, "profile.toml", toml)
}

// examplePolicy returns the built .wasm of policies/examples/NAME: the
// committed one when there is one, else built with `supervisor policy build`.
func examplePolicy(t *testing.T, c *container.Container, name string) string {
	t.Helper()
	root, err := container.ModuleRoot()
	require.NoError(t, err)
	src := filepath.Join(root, "policies", "examples", name)
	require.DirExists(t, src, "the example policy %s", name)
	if found, _ := filepath.Glob(filepath.Join(src, "*.wasm")); len(found) > 0 {
		return copyToVolume(t, c, found[0], name+".wasm")
	}
	out := filepath.Join(c.Dir, name+".wasm")
	cmd := exec.Command(c.Bin.Supervisor, "policy", "build", src, "--write", out)
	cmd.Dir = root
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "supervisor policy build %s: %s", src, msg)
	return copyToVolume(t, c, out, name+".wasm")
}

// copyToVolume puts a policy module under <home>/policies/, world-readable.
func copyToVolume(t *testing.T, c *container.Container, from, name string) string {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	dst := filepath.Join(c.Home, "policies", name)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, data, 0o644))
	return dst
}

// watModule compiles a WAT policy with wat2wasm into the volume.
func watModule(t *testing.T, c *container.Container, name, wat string) string {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm not found: install it with `apt-get install -y wabt`")
	}
	src := filepath.Join(c.Dir, name+".wat")
	require.NoError(t, os.WriteFile(src, []byte(wat), 0o644))
	out := filepath.Join(c.Dir, name+".wasm")
	msg, err := exec.Command("wat2wasm", src, "-o", out).CombinedOutput()
	require.NoError(t, err, "wat2wasm: %s", msg)
	return copyToVolume(t, c, out, name+".wasm")
}

// brokenPolicy is a module that speaks ABI 1.0, declares every decision,
// and then misbehaves in hermes_decide with body (which must not return
// normally, e.g. an endless loop or unreachable).
func brokenPolicy(name, body string) string {
	meta := "name=" + name + "\nversion=1.0.0\ndecisions=boot,shutdown,exit\n"
	return fmt.Sprintf(`(module
  (memory (export "memory") 2)
  (data (i32.const 0) %q)
  (func (export "hermes_abi_version") (result i32) (i32.const 0x10000))
  (func (export "hermes_metadata") (result i64) (i64.const %d))
  (func (export "hermes_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hermes_decide") (param i32 i32 i32) (result i64)
    %s))
`, meta, len(meta), body)
}

// config is the test configuration with extra [policy] lines.
func configWithPolicy(policyLines string) string {
	return strings.Replace(container.DefaultConfig, "[policy]\nmodule = \"\"\ntimeout = \"100ms\"\n", "[policy]\n"+policyLines+"\n", 1)
}
