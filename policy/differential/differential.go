// Package differential holds the agreement check between the native
// fallback (package fallback) and a policy module that claims to make the
// same decisions: the embedded default module. Both are asked the same
// questions, every fixture scenario and one exhaustive grid of inputs
// (values outside the ABI's named ranges included), and must give identical
// answers, reasons included. Tests compare a seeded sample of the grid by
// default and the whole grid with HERMES_TEST_LONG=1 (TestInputs).
//
// It is used by tests only. It imports hostabi, policy, policy/fallback and
// policy/fixture; nothing of supervisor, s6 or cmd.
package differential

import (
	"context"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
)

// The values of each dimension of the grid: every value each decision may
// meet, and values outside the named ranges (a module must answer them as
// the fallback does, not trap or guess).
var (
	Kinds = []hostabi.Kind{hostabi.KindBoot, hostabi.KindShutdown, hostabi.KindExit}
	// Triggers: every trigger, and 5, which the ABI does not name.
	Triggers = []hostabi.Trigger{0, 1, 2, 3, 4, 5}
	// Phases: every phase, and 5, which the ABI does not name.
	Phases = []hostabi.Phase{0, 1, 2, 3, 4, 5}
	// PriorExits: every prior exit, and 3, which the ABI does not name.
	PriorExits = []hostabi.PriorExit{0, 1, 2, 3}
	// States: every state, for gateway_state and desired_state, and two
	// values the ABI does not name.
	States = []hostabi.State{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1 << 31}
	// ExitStatuses are (exit_code, signal) pairs: every exit code class with
	// no signal (clean, EX_CONFIG and its neighbours, shell and signal-like
	// statuses, the largest status and past it, negative, the int32
	// extremes), then each signal, the extremes included, with the exit codes
	// a module might test before the signal.
	ExitStatuses = exitStatuses(
		[]int32{0, 1, 2, 77, 78, 79, 125, 126, 127, 128, 137, 255, 256, -1, -78, math.MaxInt32, math.MinInt32},
		[]int32{9, 15, 64, -1, math.MaxInt32, math.MinInt32},
		[]int32{-1, 0, fallback.ExitConfig})
	// Profiles are the root profile, with multiplex_profiles absent and true,
	// and a named profile with each way the parameters may say it: absent,
	// false, true, of the wrong type, and near-miss keys. Then the inputs
	// of ABI 1.1's seeding: the root profile and a named one with no state
	// file, the legacy command or not, bootstrap_state "running" (which wins
	// over the legacy command) or a near miss of it.
	Profiles = []Profile{
		{Name: "default", Root: true},
		{Name: "default", Root: true, Params: hostabi.Params{multiplexOn}},
		{Name: "coder"},
		{Name: "coder", Params: hostabi.Params{{Key: fallback.ParamMultiplex, Type: hostabi.ParamBool, Bool: false}}},
		{Name: "coder", Params: hostabi.Params{multiplexOn}},
		{Name: "coder", Params: hostabi.Params{{Key: "a", Type: hostabi.ParamString, Str: "x"}, {Key: fallback.ParamMultiplex, Type: hostabi.ParamInt, Int: 1}}},
		{Name: "coder", Params: hostabi.Params{{Key: "multiplex_profile", Type: hostabi.ParamBool, Bool: true}, {Key: fallback.ParamMultiplex + ".x", Type: hostabi.ParamBool, Bool: true}}},
		{Name: "default", Root: true, NoStateFile: true},
		{Name: "default", Root: true, NoStateFile: true, LegacyCommand: true},
		{Name: "default", Root: true, LegacyCommand: true, Params: hostabi.Params{bootstrapRunning}},
		{Name: "default", Root: true, NoStateFile: true, Params: hostabi.Params{bootstrapRunning, multiplexOn}},
		{Name: "default", Root: true, NoStateFile: true, LegacyCommand: true, Params: hostabi.Params{bootstrapRunning}},
		{Name: "default", Root: true, NoStateFile: true, LegacyCommand: true, Params: hostabi.Params{{Key: hostabi.ParamBootstrapState, Type: hostabi.ParamString, Str: " running"}}},
		{Name: "coder", NoStateFile: true, LegacyCommand: true, Params: hostabi.Params{bootstrapRunning}},
	}
	multiplexOn      = hostabi.Param{Key: fallback.ParamMultiplex, Type: hostabi.ParamBool, Bool: true}
	bootstrapRunning = hostabi.Param{Key: hostabi.ParamBootstrapState, Type: hostabi.ParamString, Str: fallback.BootstrapRunning}
)

// ExitStatus is an exit code and the signal that ended the gateway (0: none).
type ExitStatus struct{ Code, Signal int32 }

func exitStatuses(codes, signals, codesWithSignal []int32) []ExitStatus {
	var out []ExitStatus
	for _, c := range codes {
		out = append(out, ExitStatus{c, 0})
	}
	for _, sig := range signals {
		for _, c := range codesWithSignal {
			out = append(out, ExitStatus{c, sig})
		}
	}
	return out
}

// Profile is a profile name, whether it is the root profile, the policy
// parameters a decision for it carries, and the boot flags of ABI 1.1.
type Profile struct {
	Name          string
	Root          bool
	Params        hostabi.Params
	NoStateFile   bool
	LegacyCommand bool
}

// GridSize is how many inputs the grid holds: every combination of the
// dimensions above.
func GridSize() int {
	return len(Kinds) * len(Triggers) * len(Phases) * len(PriorExits) * len(States) * len(States) *
		len(ExitStatuses) * len(Profiles)
}

// gridTime is the time of every grid input.
var gridTime = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

// GridInput sets *in to the grid's input number i, 0 <= i < GridSize().
// Params is shared with the grid's tables: do not modify it.
func GridInput(i int, in *hostabi.Input) {
	if i < 0 || i >= GridSize() {
		panic(fmt.Sprintf("differential: grid input %d outside [0, %d)", i, GridSize()))
	}
	pick := func(n int) int {
		v := i % n
		i /= n
		return v
	}
	p := Profiles[pick(len(Profiles))]
	es := ExitStatuses[pick(len(ExitStatuses))]
	*in = hostabi.Input{
		Now: gridTime, StateSince: gridTime.Add(-time.Hour), Uptime: 5 * time.Minute,
		Profile: p.Name, Root: p.Root, Params: p.Params, ExitCode: es.Code, Signal: es.Signal,
		NoStateFile: p.NoStateFile, LegacyCommand: p.LegacyCommand,
		Desired:   States[pick(len(States))],
		State:     States[pick(len(States))],
		PriorExit: PriorExits[pick(len(PriorExits))],
		Phase:     Phases[pick(len(Phases))],
		Trigger:   Triggers[pick(len(Triggers))],
		Kind:      Kinds[pick(len(Kinds))],
	}
}

// Grid yields every input of the grid, in order. The input yielded is
// reused: copy it to keep it.
func Grid() iter.Seq[*hostabi.Input] {
	return func(yield func(*hostabi.Input) bool) {
		var in hostabi.Input
		for i := range GridSize() {
			GridInput(i, &in)
			if !yield(&in) {
				return
			}
		}
	}
}

// Sample yields n inputs of the grid drawn at random (with replacement) by
// a generator seeded with seed: the same seed yields the same inputs. The
// input yielded is reused: copy it to keep it.
func Sample(seed uint64, n int) iter.Seq[*hostabi.Input] {
	return func(yield func(*hostabi.Input) bool) {
		r := rand.New(rand.NewPCG(seed, seed))
		var in hostabi.Input
		for range n {
			GridInput(r.IntN(GridSize()), &in)
			if !yield(&in) {
				return
			}
		}
	}
}

// SampleSize is how many inputs a test asks of the grid by default.
const SampleSize = 50_000

// Environment variables read by TestInputs.
const (
	// EnvLong set to 1 runs the whole grid.
	EnvLong = "HERMES_TEST_LONG"
	// EnvSeed replays a sample: the seed a failed run logged.
	EnvSeed = "HERMES_GRID_SEED"
)

// TestInputs returns the grid inputs a test compares, and how many: the
// whole grid when HERMES_TEST_LONG=1, else SampleInputs(t, SampleSize).
func TestInputs(t testing.TB) (iter.Seq[*hostabi.Input], int) {
	t.Helper()
	if os.Getenv(EnvLong) == "1" {
		t.Logf("the whole grid: %d inputs", GridSize())
		return Grid(), GridSize()
	}
	return SampleInputs(t, SampleSize), SampleSize
}

// SampleInputs returns a sample of n grid inputs seeded with
// HERMES_GRID_SEED or, when it is unset, a fresh seed, and logs the seed
// with how to replay it.
func SampleInputs(t testing.TB, n int) iter.Seq[*hostabi.Input] {
	t.Helper()
	seed := rand.Uint64()
	if v := os.Getenv(EnvSeed); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", EnvSeed, v)
		}
	}
	t.Logf("a sample of %d of the grid's %d inputs, seed %d (replay: %s=%d; the whole grid: %s=1)",
		n, GridSize(), seed, EnvSeed, seed, EnvLong)
	return Sample(seed, n)
}

// Disagreement is an input on which the module and the fallback differ.
type Disagreement struct {
	Input  hostabi.Input
	Module hostabi.Decision
	Native hostabi.Decision
	Err    string // the module did not answer
}

func (d Disagreement) String() string {
	in := d.Input
	head := fmt.Sprintf("%s profile=%s root=%t no_state_file=%t legacy_command=%t trigger=%s signal=%d phase=%s state=%s desired=%s prior_exit=%s exit_code=%d params=%v",
		in.Kind, in.Profile, in.Root, in.NoStateFile, in.LegacyCommand, in.Trigger, in.Signal, in.Phase, in.State, in.Desired, in.PriorExit, in.ExitCode, in.Params.Map())
	if d.Err != "" {
		return head + ": module did not answer: " + d.Err
	}
	return fmt.Sprintf("%s:\n\tmodule %+v\n\tnative %+v", head, d.Module, d.Native)
}

// Compare asks e and the fallback every input and returns how many inputs
// were compared and the first max disagreements. The engine must be opened
// with OnErrorFail: an answer from the fallback would agree with itself.
func Compare(ctx context.Context, e *policy.Engine, inputs iter.Seq[*hostabi.Input], max int) (int, []Disagreement) {
	n := 0
	var out []Disagreement
	for in := range inputs {
		n++
		native := fallback.Decide(in)
		res, err := e.Decide(ctx, in)
		switch {
		case err != nil:
			out = append(out, Disagreement{Input: *in, Native: native, Err: err.Error()})
		case res.Fallback:
			out = append(out, Disagreement{Input: *in, Native: native, Err: "fallback answered: " + res.FallbackReason})
		case res.Decision != native:
			out = append(out, Disagreement{Input: *in, Module: res.Decision, Native: native})
		default:
			continue
		}
		if len(out) >= max {
			break
		}
	}
	return n, out
}

// Scenarios yields the input of every scenario of every *.toml file in
// fsys (the embedded default fixtures).
func Scenarios(fsys fs.FS) (iter.Seq[*hostabi.Input], int, error) {
	var inputs []hostabi.Input
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".toml") {
			return err
		}
		f, err := fixture.LoadFS(fsys, p)
		if err != nil {
			return err
		}
		for _, s := range f.Scenarios {
			inputs = append(inputs, s.Input)
		}
		return nil
	})
	return func(yield func(*hostabi.Input) bool) {
		for i := range inputs {
			if !yield(&inputs[i]) {
				return
			}
		}
	}, len(inputs), err
}
