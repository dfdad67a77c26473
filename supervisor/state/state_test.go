package state

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

var t0 = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

func TestReadTolerant(t *testing.T) {
	bom, err := os.ReadFile("testdata/bom_legacy.json")
	require.NoError(t, err)
	full, err := os.ReadFile("testdata/full.json")
	require.NoError(t, err)
	cases := []struct {
		name       string
		content    []byte
		state      hostabi.State
		desired    hostabi.State
		since      time.Time
		unreadable bool
	}{
		{"bom legacy number timestamp", bom, hostabi.StateRunning, hostabi.StateNone, time.Unix(1732568400, 5e8).UTC(), false},
		{"full string timestamp", full, hostabi.StateStopped, hostabi.StateStopped, time.Date(2024, 11, 25, 21, 0, 0, 123e6, time.UTC), false},
		{"millisecond timestamp", []byte(`{"gateway_state":"draining","timestamp":1732568400000}`), hostabi.StateDraining, hostabi.StateNone, time.Unix(1732568400, 0).UTC(), false},
		{"numeric string timestamp", []byte(`{"gateway_state":"degraded","timestamp":"1732568400"}`), hostabi.StateDegraded, hostabi.StateNone, time.Unix(1732568400, 0).UTC(), false},
		{"bad timestamp ignored", []byte(`{"gateway_state":"running","timestamp":{"x":1}}`), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		{"unknown state value", []byte(`{"gateway_state":"hibernating"}`), hostabi.StateOther, hostabi.StateNone, time.Time{}, false},
		{"null state", []byte(`{"gateway_state":null}`), hostabi.StateNone, hostabi.StateNone, time.Time{}, false},
		{"empty object", []byte(`{}`), hostabi.StateNone, hostabi.StateNone, time.Time{}, false},
		{"whitespace around the object", []byte("\n  {\"gateway_state\":\"running\"}\n\n"), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		// Values are raw, as upstream reads them: only the exact names count.
		{"whitespace in a value", []byte(`{"gateway_state":" running "}`), hostabi.StateOther, hostabi.StateNone, time.Time{}, false},
		{"newline in a value", []byte(`{"desired_state":"running\n","gateway_state":"running"}`), hostabi.StateRunning, hostabi.StateOther, time.Time{}, false},
		{"empty desired is present", []byte(`{"desired_state":"","gateway_state":"running"}`), hostabi.StateRunning, hostabi.StateOther, time.Time{}, false},
		{"null desired is absent", []byte(`{"desired_state":null,"gateway_state":"running"}`), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		{"desired draining stays draining", []byte(`{"desired_state":"draining"}`), hostabi.StateNone, hostabi.StateDraining, time.Time{}, false},
		{"state is a number", []byte(`{"gateway_state":3}`), hostabi.StateOther, hostabi.StateNone, time.Time{}, false},
		{"desired is a list", []byte(`{"desired_state":["running"]}`), hostabi.StateNone, hostabi.StateOther, time.Time{}, false},
		{"desired is NaN", []byte(`{"desired_state":NaN}`), hostabi.StateNone, hostabi.StateOther, time.Time{}, false},
		// Python's json dialect.
		{"NaN timestamp", []byte(`{"gateway_state":"running","timestamp":NaN}`), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		{"Infinity under another key", []byte(`{"x":[Infinity,-Infinity],"gateway_state":"stopped"}`), hostabi.StateStopped, hostabi.StateNone, time.Time{}, false},
		{"NaN inside a string is text", []byte(`{"gateway_state":"NaN"}`), hostabi.StateOther, hostabi.StateNone, time.Time{}, false},
		{"duplicate key: the last wins", []byte(`{"gateway_state":"stopped","gateway_state":"running"}`), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		{"huge number", []byte(`{"gateway_state":"running","timestamp":1e400}`), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		{"NaN as a key's name is no literal", []byte(`{NaN:1}`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"bare NaN", []byte(`NaN`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"not utf-8", []byte("{\"gateway_state\":\"running\",\"x\":\"\xe9\"}"), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"utf-16", []byte("\xff\xfe{\x00}\x00"), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"two objects", []byte(`{"gateway_state":"running"}{}`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"nested 990 deep", []byte(`{"gateway_state":"running","x":` + strings.Repeat("[", 989) + strings.Repeat("]", 989) + `}`), hostabi.StateRunning, hostabi.StateNone, time.Time{}, false},
		{"nested 1000 deep (Python gives up)", []byte(`{"gateway_state":"running","x":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"trailing comma", []byte(`{"gateway_state":"running",}`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"not json", []byte(`gateway_state=running`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"truncated", []byte(`{"gateway_state":"runn`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"empty file", []byte(``), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"json array", []byte(`["running"]`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
		{"json null", []byte(`null`), hostabi.StateUnreadable, hostabi.StateNone, time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway_state.json")
			require.NoError(t, os.WriteFile(path, c.content, 0o644))
			f, err := Read(path)
			assert.Equal(t, c.state, f.Gateway())
			assert.Equal(t, c.desired, f.Desired())
			assert.Equal(t, c.unreadable, f.Unreadable)
			if c.unreadable {
				require.ErrorIs(t, err, ErrUnreadable)
				assert.Contains(t, err.Error(), path, "the warning names the file")
				assert.NotContains(t, err.Error(), "\n")
			} else {
				require.NoError(t, err)
				assert.True(t, c.since.Equal(f.Since()), "since %v, want %v", f.Since(), c.since)
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	f, err := Read(filepath.Join(t.TempDir(), "gateway_state.json"))
	require.NoError(t, err)
	assert.False(t, f.Present)
	assert.Equal(t, hostabi.StateNone, f.Gateway())
}

func TestReadOddFiles(t *testing.T) {
	cases := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"directory", func(t *testing.T, p string) { require.NoError(t, os.Mkdir(p, 0o755)) }, "directory"},
		{"fifo", func(t *testing.T, p string) { require.NoError(t, syscall.Mkfifo(p, 0o644)) }, "FIFO"},
		{"symlink", func(t *testing.T, p string) {
			target := filepath.Join(filepath.Dir(p), "elsewhere.json")
			require.NoError(t, os.WriteFile(target, []byte(`{"gateway_state":"running"}`), 0o644))
			require.NoError(t, os.Symlink(target, p))
		}, "symlink"},
		{"dangling symlink", func(t *testing.T, p string) { require.NoError(t, os.Symlink("/nonexistent/x", p)) }, "symlink"},
		{"huge", func(t *testing.T, p string) {
			big := `{"gateway_state":"running","pad":"` + strings.Repeat("x", MaxFileSize) + `"}`
			require.NoError(t, os.WriteFile(p, []byte(big), 0o644))
		}, "more than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway_state.json")
			c.make(t, path)
			done := make(chan struct{})
			var f File
			var err error
			go func() { f, err = Read(path); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Read blocked") // a FIFO must never block
			}
			require.ErrorIs(t, err, ErrUnreadable)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), path)
			assert.Equal(t, hostabi.StateUnreadable, f.Gateway())
		})
	}
}

func TestUpdateKeepsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	bom, err := os.ReadFile("testdata/bom_legacy.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bom, 0o644))
	code := 0
	_, err = Set(path, Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateStopped, ExitCode: &code, Reason: "operator stop", Policy: "default@12345678"}, t0)
	require.NoError(t, err)

	var raw map[string]any
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, "stopped", raw["gateway_state"])
	assert.Equal(t, "stopped", raw["desired_state"])
	assert.Equal(t, float64(42), raw["pid"], "unknown key kept")
	assert.Equal(t, map[string]any{"telegram": "ok"}, raw["platforms"], "unknown nested key kept")
	assert.Equal(t, "2026-11-25T21:00:00Z", raw["updated_at"])
	assert.Equal(t, float64(t0.Unix()), raw["timestamp"])
	assert.Equal(t, float64(0), raw["exit_code"])

	f, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, hostabi.StateStopped, f.Gateway())
	assert.True(t, t0.Equal(f.Since()))
	assert.Equal(t, "default@12345678", f.Policy)
	assert.Contains(t, f.Extra(), "platforms")
}

// TestUpdateKeepsTheGatewaysKeys: the gateway's own keys, Python's NaN
// and raw state values survive an update that does not set them, and
// nothing writes a byte-order mark.
func TestUpdateKeepsTheGatewaysKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	gw := "\xef\xbb\xbf" + `{"pid": 4242, "kind": "hermes-gateway", "argv": ["hermes", "gateway", "run", "--replace"], "start_time": 12345,
  "gateway_state": "running", "desired_state": "", "platforms": {}, "x_nan": NaN, "x_inf": [Infinity, -Infinity],
  "updated_at": "2026-12-02T16:44:24.179645+00:00", "active_agents": 0}`
	require.NoError(t, os.WriteFile(path, []byte(gw), 0o644))
	f, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, hostabi.StateOther, f.Desired(), `desired "" is present`)
	nan, err := Parse([]byte(`{"desired_state": NaN}`))
	require.NoError(t, err)
	assert.Equal(t, "NaN", nan.DesiredState, "a value that is not a string is kept as written")

	_, err = Set(path, Change{Reason: "gateway ready"}, t0)
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.False(t, strings.HasPrefix(string(data), "\xef\xbb\xbf"), "no byte-order mark")
	for _, want := range []string{`"x_nan": NaN`, `"x_inf": [Infinity, -Infinity]`, `"desired_state": ""`, `"pid": 4242`,
		`"kind": "hermes-gateway"`, `"argv": ["hermes","gateway","run","--replace"]`, `"start_time": 12345`, `"gateway_state": "running"`} {
		assert.Contains(t, string(data), want)
	}
	f, err = Read(path)
	require.NoError(t, err)
	assert.Equal(t, hostabi.StateOther, f.Desired(), `desired "" is still present`)
	assert.Equal(t, "gateway ready", f.Reason)

	_, err = Set(path, Change{Gateway: hostabi.StateStopped, Desired: hostabi.StateStopped}, t0)
	require.NoError(t, err)
	f, err = Read(path)
	require.NoError(t, err)
	assert.Equal(t, hostabi.StateStopped, f.Desired())
	assert.Equal(t, hostabi.StateStopped, f.Gateway())
	assert.Equal(t, "stopped", f.DesiredState)
}

func TestUpdateRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	_, err := Set(path, Change{Gateway: hostabi.StateOther}, t0)
	require.Error(t, err)
	_, err = Set(path, Change{Desired: hostabi.StateDraining}, t0)
	require.Error(t, err)
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused update writes nothing")

	require.NoError(t, os.Mkdir(path, 0o755))
	_, err = Set(path, Change{Gateway: hostabi.StateRunning}, t0)
	require.ErrorIs(t, err, ErrNotRegular)
}

func TestUpdateReplacesSymlinkNotTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	require.NoError(t, os.WriteFile(target, []byte(`{"gateway_state":"running"}`), 0o644))
	path := filepath.Join(dir, "gateway_state.json")
	require.NoError(t, os.Symlink(target, path))
	_, err := Set(path, Change{Gateway: hostabi.StateStopped}, t0)
	require.NoError(t, err)
	data, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, `{"gateway_state":"running"}`, string(data), "the symlink's target is never written")
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
}

func TestUpdateReplacesUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o644))
	f, err := Set(path, Change{Desired: hostabi.StateRunning}, t0)
	require.NoError(t, err)
	assert.Equal(t, "running", f.DesiredState)
	assert.Equal(t, "", f.GatewayState)
}

// Two writers updating different fields concurrently never lose each
// other's: the lock serializes the read-modify-write.
func TestUpdateConcurrentFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	const n = 50
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				_, err := Update(path, func(f *File) error {
					if f.raw == nil {
						f.raw = map[string]json.RawMessage{}
					}
					key := []string{"a", "b"}[w]
					var cur int
					_ = json.Unmarshal(f.raw[key], &cur)
					f.raw[key] = json.RawMessage(itoa(cur + 1))
					_ = i
					return nil
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw map[string]int
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, n, raw["a"])
	assert.Equal(t, n, raw["b"])
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestWriteAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")
	for i := range 5 {
		require.NoError(t, WriteAtomic(path, []byte(itoa(i)), 0o644))
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	data, _ := os.ReadFile(path)
	assert.Equal(t, "4", string(data))
}

func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	l, err := LockFile(path, time.Second)
	require.NoError(t, err)
	_, err = LockFile(path, 20*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+".lock")
	l.Unlock()
	l2, err := LockFile(path, time.Second)
	require.NoError(t, err)
	l2.Unlock()
	require.True(t, errors.Is(err, nil))
}
