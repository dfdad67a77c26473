package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/hermes-supervisor/hermes-supervisor/tests/testenv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// TestMain lets the test binary play the writer in the crash-consistency
// test, in the style of os/exec's tests.
func TestMain(m *testing.M) {
	if path := os.Getenv("STATE_TEST_WRITER"); path != "" {
		writer(path)
		return
	}
	os.Exit(m.Run())
}

// writer updates the state file at path forever: write number n+1 sets
// seq=n+1 (and a body whose length varies with n, so that a torn write
// cannot look whole). After each update returns it prints n+1. Updates
// alternate between Update and a Keeper (with its spare prepared after
// each write, as the supervisor does).
func writer(path string) {
	start, _ := strconv.Atoi(os.Getenv("STATE_TEST_START"))
	out := bufio.NewWriter(os.Stdout)
	k := NewKeeper(path)
	for n := start; ; n++ {
		up := func(fn func(*File) error) (File, error) { return Update(path, fn) }
		if n%2 == 1 {
			up = func(fn func(*File) error) (File, error) { return k.apply(fn, true) }
		}
		_, err := up(func(f *File) error {
			if f.raw == nil {
				f.raw = map[string]json.RawMessage{}
			}
			f.raw["seq"] = json.RawMessage(strconv.Itoa(n + 1))
			f.raw["body"] = json.RawMessage(strconv.Quote(strings.Repeat("x", (n*37)%4000)))
			return Change{Gateway: []hostabi.State{hostabi.StateRunning, hostabi.StateStopped}[n%2]}.Apply(f, time.Now())
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		k.Prepare()
		fmt.Fprintln(out, n+1)
		out.Flush()
	}
}

func seqOf(t *testing.T, path string) int {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotEmpty(t, data, "state file is empty")
	var v struct {
		Seq   int    `json:"seq"`
		Body  string `json:"body"`
		State string `json:"gateway_state"`
	}
	require.NoError(t, json.Unmarshal(data, &v), "state file is torn: %q", data)
	require.Equal(t, strings.Repeat("x", ((v.Seq-1)*37)%4000), v.Body, "body does not match seq %d", v.Seq)
	require.Equal(t, []string{"running", "stopped"}[(v.Seq-1)%2], v.State)
	f, err := Read(path)
	require.NoError(t, err)
	require.True(t, f.Present)
	return v.Seq
}

// TestCrashConsistency kills the writer with SIGKILL at random moments
// during at least 1000 state writes. After every kill the file is valid and
// holds the last acknowledged write or the one after it: never torn, never
// empty, never older.
func TestCrashConsistency(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "gateway_state.json")
	rng := rand.New(rand.NewPCG(1, testenv.Seed(t)))
	writes := testenv.Trials(t, 150, 1000)
	acked, kills := 0, 0
	for acked < writes {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "STATE_TEST_WRITER="+path, "STATE_TEST_START="+strconv.Itoa(acked))
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		lines := make(chan int, 4096)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				n, _ := strconv.Atoi(sc.Text())
				lines <- n
			}
			close(lines)
		}()
		// Let it write at least once, then kill it at a random moment.
		first, ok := <-lines
		require.True(t, ok, "writer produced nothing")
		last := first
		time.Sleep(time.Duration(rng.IntN(20000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		for n := range lines {
			last = n
		}
		_ = cmd.Wait()
		kills++
		got := seqOf(t, path)
		require.Truef(t, got == last || got == last+1, "after kill %d: file holds write %d, last acknowledged %d", kills, got, last)
		acked = got // the next writer continues from what is on disk
		// The killed writer may leave its two spares and a temporary
		// file in flight; the next writer's Keeper removes them, so they
		// never pile up.
		ents, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		var tmps []string
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				tmps = append(tmps, e.Name())
			}
		}
		require.LessOrEqualf(t, len(tmps), keeperSpares+1, "after kill %d: temporary files pile up: %v", kills, tmps)
	}
	t.Logf("%d writes, %d kills", acked, kills)
}
