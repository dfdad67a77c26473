package journal

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// The test binary doubles as a journal writer in another process: with
// roleEnv set it appends to the journal named by pathEnv and exits.
const (
	roleEnv = "JOURNAL_TEST_ROLE"
	pathEnv = "JOURNAL_TEST_PATH"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "append": // JOURNAL_TEST_N entries of writer JOURNAL_TEST_ID, rotating past JOURNAL_TEST_MAX
		n, _ := strconv.Atoi(os.Getenv("JOURNAL_TEST_N"))
		id, _ := strconv.Atoi(os.Getenv("JOURNAL_TEST_ID"))
		max, _ := strconv.ParseInt(os.Getenv("JOURNAL_TEST_MAX"), 10, 64)
		w := Writer{Path: os.Getenv(pathEnv), MaxSize: max}
		for i := range n {
			if err := w.Append(entry(id, i, 0)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	case "forever": // big entries until killed
		w := Writer{Path: os.Getenv(pathEnv), MaxSize: 1 << 40}
		for i := 0; ; i++ {
			if err := w.Append(entry(0, i, 64<<10)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(2)
}

var t0 = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

// entry is writer id's i-th exit decision; pad adds a string parameter of
// that many bytes.
func entry(id, i, pad int) Entry {
	params := hostabi.Params{{Key: "multiplex_profiles", Type: hostabi.ParamBool}, {Key: "writer", Type: hostabi.ParamInt, Int: int64(id)}}
	if pad > 0 {
		params = append(params, hostabi.Param{Key: "zpad", Type: hostabi.ParamString, Str: strings.Repeat("x", pad)})
	}
	now := t0.Add(time.Duration(i) * time.Second)
	return Entry{
		Time: now, Profile: "coder", Kind: hostabi.KindExit, Source: SourceRun,
		Input: hostabi.Input{Kind: hostabi.KindExit, Now: now, Profile: "coder", State: hostabi.StateRunning,
			Desired: hostabi.StateRunning, ExitCode: int32(i), Uptime: 12 * time.Second, Params: params,
			History: []hostabi.ExitRecord{{Time: now.Add(-time.Minute), Uptime: time.Minute, ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}}},
		Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Reason: "exited " + strconv.Itoa(i) + ": restart"},
		Policy:   "default@3f2a9c1b", Digest: strings.Repeat("3f2a9c1b", 8),
	}
}

func TestAppendRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "decisions.jsonl")
	want := []Entry{entry(1, 0, 0), entry(1, 1, 0)}
	want[1].Fallback, want[1].FallbackReason = true, "module x declined the exit decision"
	for _, e := range want {
		require.NoError(t, Append(path, e))
	}
	got, warns, err := Read(path)
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Equal(t, want, got)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 2, bytes.Count(b, []byte{'\n'}))
	assert.Contains(t, string(b), `"params":{"multiplex_profiles":false,"writer":1}`, "params are one flat object")
}

func TestReadMissing(t *testing.T) {
	es, warns, err := Read(filepath.Join(t.TempDir(), "decisions.jsonl"))
	require.NoError(t, err)
	assert.Empty(t, es)
	assert.Empty(t, warns)
}

func TestReadSkipsBadLines(t *testing.T) {
	cases := map[string]struct {
		garbage string
		warn    string
	}{
		"not json":        {"hello\n", ":2: skipped: not a journal entry"},
		"unknown kind":    {`{"time":"2026-11-25T21:00:00Z","profile":"coder","kind":"reboot"}` + "\n", ":2: skipped: not a journal entry"},
		"no profile":      {`{"time":"2026-11-25T21:00:00Z","kind":"boot","input":{"kind":"boot"}}` + "\n", ":2: skipped: not a journal entry: no profile"},
		"trailing data":   {`{"time":"2026-11-25T21:00:00Z"} {}` + "\n", ":2: skipped"},
		"torn line":       {`{"time":"2026-11-25T21:0`, ":2: skipped: not a journal entry"},
		"nul bytes":       {"\x00\x00\x00\n", ":2: skipped"},
		"blank lines":     {"\n\n", ""},
		"kind mismatched": {`{"time":"2026-11-25T21:00:00Z","profile":"coder","kind":"boot","input":{"kind":"exit"}}` + "\n", ":2: skipped"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "decisions.jsonl")
			require.NoError(t, Append(path, entry(1, 0, 0)))
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.WriteString(c.garbage)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			// The next append starts on a line of its own even after a torn one.
			require.NoError(t, Append(path, entry(1, 1, 0)))
			es, warns, err := Read(path)
			require.NoError(t, err)
			require.Len(t, es, 2)
			assert.Equal(t, int32(1), es[1].Input.ExitCode)
			if c.warn == "" {
				assert.Empty(t, warns)
				return
			}
			require.Len(t, warns, 1)
			assert.Contains(t, warns[0].Error(), path+c.warn)
		})
	}
}

func TestRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, nil, 0o644))
	cases := map[string]func(path string){
		"symlink":  func(p string) { require.NoError(t, os.Symlink(target, p)) },
		"hardlink": func(p string) { require.NoError(t, os.Link(target, p)) },
		"fifo":     func(p string) { require.NoError(t, syscall.Mkfifo(p, 0o644)) },
		"dir":      func(p string) { require.NoError(t, os.Mkdir(p, 0o755)) },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".jsonl")
			mk(path)
			err := Append(path, entry(1, 0, 0))
			require.ErrorIs(t, err, ErrNotRegular)
			assert.Contains(t, err.Error(), path)
			b, _ := os.ReadFile(target)
			assert.Empty(t, b, "written through")
		})
	}
}

func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	line, err := Encode(entry(1, 0, 0))
	require.NoError(t, err)
	w := Writer{Path: path, MaxSize: int64(10 * len(line))}
	for i := range 35 {
		require.NoError(t, w.Append(entry(1, i, 0)))
	}
	cur, err := os.Stat(path)
	require.NoError(t, err)
	old, err := os.Stat(path + ".1")
	require.NoError(t, err)
	assert.Less(t, cur.Size(), w.MaxSize+int64(len(line)))
	assert.Less(t, old.Size(), w.MaxSize+int64(2*len(line)))
	es, warns, err := Read(path)
	require.NoError(t, err)
	assert.Empty(t, warns)
	require.NotEmpty(t, es)
	assert.Equal(t, int32(34), es[len(es)-1].Input.ExitCode, "the newest survives")
	for i := 1; i < len(es); i++ {
		assert.Equal(t, es[i-1].Input.ExitCode+1, es[i].Input.ExitCode, "a gap in what is kept")
	}
}

// writers runs n processes each appending per entries to path at once.
func writers(t *testing.T, path string, n, per int, max int64) {
	var wg sync.WaitGroup
	for id := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), roleEnv+"=append", pathEnv+"="+path, "JOURNAL_TEST_N="+strconv.Itoa(per),
				"JOURNAL_TEST_ID="+strconv.Itoa(id), "JOURNAL_TEST_MAX="+strconv.FormatInt(max, 10))
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "writer %d: %s", id, out)
		}()
	}
	wg.Wait()
}

func TestConcurrentWriters(t *testing.T) {
	const n, per = 6, 300
	t.Run("no-rotation", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "decisions.jsonl")
		writers(t, path, n, per, 0)
		es, warns, err := Read(path)
		require.NoError(t, err)
		assert.Empty(t, warns, "interleaved lines")
		count := map[int64]int{}
		for _, e := range es {
			p, _ := e.Input.Params.Lookup("writer")
			count[p.Int]++
		}
		for id := range n {
			assert.Equal(t, per, count[int64(id)], "writer %d", id)
		}
	})
	t.Run("one-rotation", func(t *testing.T) {
		// The limit is 60% of everything written: exactly one rotation is
		// due. Were two writers to rotate, the second would overwrite .1 and
		// lose entries.
		path := filepath.Join(t.TempDir(), "decisions.jsonl")
		line, err := Encode(entry(1, 0, 0))
		require.NoError(t, err)
		max := int64(len(line)) * n * per * 6 / 10
		writers(t, path, n, per, max)
		es, warns, err := Read(path)
		require.NoError(t, err)
		assert.Empty(t, warns, "interleaved lines")
		assert.Len(t, es, n*per, "entries lost: rotated twice")
		assert.FileExists(t, path+".1")
	})
}

func TestSIGKILLMidAppend(t *testing.T) {
	for round := range 3 {
		t.Run("round-"+strconv.Itoa(round), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "decisions.jsonl")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), roleEnv+"=forever", pathEnv+"="+path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			for {
				if fi, err := os.Stat(path); err == nil && fi.Size() > int64(round+1)<<20 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			require.Error(t, cmd.Wait())
			require.Empty(t, stderr.String())
			// Then a crash mid-write by hand: half a line, no newline.
			half, err := Encode(entry(9, 9, 0))
			require.NoError(t, err)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write(half[:len(half)/2])
			require.NoError(t, err)
			require.NoError(t, f.Close())
			// The next supervisor appends after it.
			after := entry(7, 1000000, 0)
			require.NoError(t, Writer{Path: path, MaxSize: 1 << 40}.Append(after))

			es, warns, err := Read(path)
			require.NoError(t, err)
			require.NotEmpty(t, es)
			assert.Equal(t, after.Input.ExitCode, es[len(es)-1].Input.ExitCode, "the entry after the crash is read")
			for _, w := range warns {
				assert.Contains(t, w.Error(), path)
			}
			require.NotEmpty(t, warns, "the torn half line is reported")
		})
	}
}

// TestExplainGolden explains one decision of each kind, and the boot that
// follows an operator's stop, against testdata/explain.golden.
func TestExplainGolden(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 25, h, m, 0, 0, time.UTC) }
	params := hostabi.Params{}
	es := []Entry{
		{Time: at(20, 10), Profile: "coder", Kind: hostabi.KindExit, Source: SourceRun,
			Input: hostabi.Input{Kind: hostabi.KindExit, Now: at(20, 10), Profile: "coder", ExitCode: 1, Uptime: 95 * time.Second, Params: params,
				History: []hostabi.ExitRecord{{Time: at(20, 5), ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart}}},
			Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: 2 * time.Second, Reason: "crash 2 in a row: restart in 2s"},
			Policy:   "crashloop@9d1e0c4a"},
		{Time: at(20, 30), Profile: "coder", Kind: hostabi.KindExit, Source: SourceFinish,
			Input:    hostabi.Input{Kind: hostabi.KindExit, Now: at(20, 30), Profile: "coder", ExitCode: -1, Signal: 9, Params: params},
			Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Reason: "killed by signal 9: restart"},
			Policy:   "default@3f2a9c1b"},
		{Time: at(20, 40), Profile: "coder", Kind: hostabi.KindShutdown, Source: SourceRun,
			Input: hostabi.Input{Kind: hostabi.KindShutdown, Now: at(20, 40), Profile: "coder", Trigger: hostabi.TriggerSignal, Signal: 15,
				Phase: hostabi.PhaseRunning, Uptime: 10 * time.Minute, State: hostabi.StateRunning, Desired: hostabi.StateRunning, Params: params},
			Decision: hostabi.Decision{State: hostabi.StateRunning, ExitCode: 1, Reason: "signal without marker: revive at boot"},
			Policy:   "default@3f2a9c1b"},
		{Time: at(20, 58), Profile: "coder", Kind: hostabi.KindShutdown, Source: SourceRun,
			Input: hostabi.Input{Kind: hostabi.KindShutdown, Now: at(20, 58), Profile: "coder", Trigger: hostabi.TriggerOperator, Signal: 15,
				Phase: hostabi.PhaseRunning, Uptime: 3*time.Hour + 2*time.Minute, State: hostabi.StateRunning, Desired: hostabi.StateRunning, Params: params},
			Decision: hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateStopped, Reason: "operator stop"},
			Policy:   "default@3f2a9c1b", Stopper: 4121, MarkerAt: at(20, 58)},
		{Time: at(21, 3), Profile: "coder", Kind: hostabi.KindBoot, Source: SourceBoot, Outcome: "registered",
			Input: hostabi.Input{Kind: hostabi.KindBoot, Now: at(21, 3), Profile: "coder", State: hostabi.StateStopped, Desired: hostabi.StateStopped,
				PriorExit: hostabi.PriorExitClean, Params: params},
			Decision: hostabi.Decision{Action: hostabi.ActionDown, Reason: "desired stopped"},
			Policy:   "default@3f2a9c1b"},
		{Time: at(21, 3), Profile: "default", Kind: hostabi.KindBoot, Source: SourceBoot, Outcome: "started",
			Input: hostabi.Input{Kind: hostabi.KindBoot, Now: at(21, 3), Profile: "default", Root: true, State: hostabi.StateNone,
				PriorExit: hostabi.PriorExitUnclean, Params: params},
			Decision: hostabi.Decision{Action: hostabi.ActionStart, Reason: "no state"},
			Policy:   "mypolicy@0badc0de", Fallback: true, FallbackReason: "module mypolicy@0badc0de declined the boot decision"},
		{Time: at(21, 4), Profile: "ops", Kind: hostabi.KindShutdown, Source: SourceRun,
			Input: hostabi.Input{Kind: hostabi.KindShutdown, Now: at(21, 4), Profile: "ops", Trigger: hostabi.TriggerRestart, Signal: 15,
				Phase: hostabi.PhaseDegraded, Uptime: 40 * time.Second, Params: params},
			Decision: hostabi.Decision{State: hostabi.StateStopped, Desired: hostabi.StateRunning, Reason: "restart requested"},
			Policy:   "default@3f2a9c1b", Stopper: 77, MarkerAt: at(21, 3)},
		{Time: at(21, 5), Profile: "ops", Kind: hostabi.KindExit, Source: SourceRun,
			Input:    hostabi.Input{Kind: hostabi.KindExit, Now: at(21, 5), Profile: "ops", ExitCode: 78, Uptime: 2 * time.Second, Params: params},
			Decision: hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStopped, Reason: "exited 78 (EX_CONFIG): configuration error"},
			Policy:   "default@3f2a9c1b"},
		// A policy that names its window in its parameters: counted in it.
		{Time: at(21, 20), Profile: "web", Kind: hostabi.KindExit, Source: SourceRun,
			Input: hostabi.Input{Kind: hostabi.KindExit, Now: at(21, 20), Profile: "web", ExitCode: 1, Uptime: 5 * time.Second,
				Params: hostabi.Params{{Key: "crash_window", Type: hostabi.ParamString, Str: "5m"}},
				History: []hostabi.ExitRecord{
					{Time: at(21, 2), ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart},
					{Time: at(21, 17), ExitCode: 1, Trigger: hostabi.TriggerExited, Verdict: hostabi.ActionRestart},
					{Time: at(21, 18), ExitCode: 0, Trigger: hostabi.TriggerOperator}}},
			Decision: hostabi.Decision{Action: hostabi.ActionRestart, State: hostabi.StateRunning, Delay: 4 * time.Second, Reason: "crash 2 in 5m"},
			Policy:   "mypolicy@0badc0de"},
		// No policy decided: on_error = "fail" and the module is missing.
		{Time: at(21, 30), Profile: "web", Kind: hostabi.KindExit, Source: SourceRun, Outcome: "not started",
			Input: hostabi.Input{Kind: hostabi.KindExit, Now: at(21, 30), Profile: "web", ExitCode: 111, Params: params},
			Decision: hostabi.Decision{Action: hostabi.ActionStop, State: hostabi.StateStartupFailed,
				Reason: `policy module /p/m.wasm cannot be used and policy.on_error is "fail": open /p/m.wasm: no such file or directory`},
			Refused: "open /p/m.wasm: no such file or directory"},
		{Time: at(21, 40), Profile: "web", Kind: hostabi.KindBoot, Source: SourceBoot, Outcome: "started",
			Input:    hostabi.Input{Kind: hostabi.KindBoot, Now: at(21, 40), Profile: "web", State: hostabi.StateStartupFailed, Desired: hostabi.StateRunning, Params: params},
			Decision: hostabi.Decision{Action: hostabi.ActionStart, Reason: "desired running"},
			Policy:   "default@3f2a9c1b"},
	}
	var b strings.Builder
	for _, e := range ExplainAll(es, time.UTC, true) {
		b.WriteString(e.Text + "\n")
	}
	b.WriteString("--- profile coder alone\n")
	var coder []Entry
	for _, e := range es {
		if e.Profile == "coder" {
			coder = append(coder, e)
		}
	}
	for _, e := range ExplainAll(coder, time.UTC, false) {
		b.WriteString(e.Text + "\n")
	}
	golden := filepath.Join("testdata", "explain.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), b.String())
}

// BenchmarkAppend measures one journal append of a typical exit decision
// (a history of 8 records), rotation check included: the cost the runner
// adds after a decision is durable.
func BenchmarkAppend(b *testing.B) {
	path := filepath.Join(b.TempDir(), "decisions.jsonl")
	e := entry(1, 0, 0)
	for range 7 {
		e.Input.History = append(e.Input.History, e.Input.History[0])
	}
	line, _ := Encode(e)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := Append(path, e); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTornTail: a journal whose last line has no newline (the writer died
// mid-line) still reads, with one warning naming the file and line.
func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	require.NoError(t, Append(path, entry(1, 0, 0)))
	line, err := Encode(entry(1, 1, 0))
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(line[:len(line)-10])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	es, warns, err := Read(path)
	require.NoError(t, err)
	assert.Len(t, es, 1)
	require.Len(t, warns, 1)
	assert.Equal(t, path+":2", warns[0].File+":"+strconv.Itoa(warns[0].Line))
	assert.Contains(t, warns[0].Error(), "torn last line")
}
