// Package differential holds the agreement check between the native
// fallback (package fallback) and a policy module that claims to make the
// same decisions: the embedded default module. Both are asked the same
// questions, every fixture scenario and an exhaustive grid of inputs, and
// must give identical answers, reasons included.
//
// It is used by tests only. It imports hostabi, policy, policy/fallback and
// policy/fixture; nothing of supervisor, s6 or cmd.
package differential

import (
	"context"
	"fmt"
	"io/fs"
	"iter"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
)

// The values of each dimension of the grid.
var (
	Kinds      = []hostabi.Kind{hostabi.KindBoot, hostabi.KindShutdown, hostabi.KindExit}
	Triggers   = []hostabi.Trigger{hostabi.TriggerNone, hostabi.TriggerSignal, hostabi.TriggerOperator, hostabi.TriggerRestart, hostabi.TriggerExited}
	Signals    = []int32{0, 9, 15}
	Phases     = []hostabi.Phase{hostabi.PhaseNone, hostabi.PhaseStarting, hostabi.PhaseRunning, hostabi.PhaseDraining, hostabi.PhaseDegraded}
	States     = []hostabi.State{0, 1, 2, 3, 4, 5, 6, 7, 8} // every state, for gateway_state and desired_state
	PriorExits = []hostabi.PriorExit{hostabi.PriorExitUnknown, hostabi.PriorExitClean, hostabi.PriorExitUnclean}
	// ExitCodes has one exit status of each class: clean, EX_CONFIG, an
	// ordinary failure, the largest status, and killed by a signal.
	ExitCodes = []int32{0, 78, 1, 255, -1}
	Profiles  = []string{"default", "coder"} // the root profile and a named one
	// Multiplex: absent, false, true.
	Multiplex = []hostabi.Params{
		{},
		{{Key: fallback.ParamMultiplex, Type: hostabi.ParamBool, Bool: false}},
		{{Key: fallback.ParamMultiplex, Type: hostabi.ParamBool, Bool: true}},
	}
)

// GridSize is how many inputs Grid yields.
func GridSize() int {
	return len(Kinds) * len(Triggers) * len(Signals) * len(Phases) * len(States) * len(States) *
		len(PriorExits) * len(ExitCodes) * len(Profiles) * len(Multiplex)
}

// Grid yields every combination of the dimensions above. The input yielded
// is reused: copy it to keep it.
func Grid() iter.Seq[*hostabi.Input] {
	return func(yield func(*hostabi.Input) bool) {
		now := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
		in := &hostabi.Input{Now: now, StateSince: now.Add(-time.Hour), Uptime: 5 * time.Minute}
		for _, k := range Kinds {
			in.Kind = k
			for _, t := range Triggers {
				in.Trigger = t
				for _, sig := range Signals {
					in.Signal = sig
					for _, ph := range Phases {
						in.Phase = ph
						for _, st := range States {
							in.State = st
							for _, de := range States {
								in.Desired = de
								for _, pe := range PriorExits {
									in.PriorExit = pe
									for _, code := range ExitCodes {
										in.ExitCode = code
										for _, prof := range Profiles {
											in.Profile, in.Root = prof, prof == "default"
											for _, mp := range Multiplex {
												in.Params = mp
												if !yield(in) {
													return
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// Every yields every nth input of inputs (a sample of the grid for -short runs).
func Every(n int, inputs iter.Seq[*hostabi.Input]) iter.Seq[*hostabi.Input] {
	return func(yield func(*hostabi.Input) bool) {
		i := 0
		for in := range inputs {
			if i%n == 0 && !yield(in) {
				return
			}
			i++
		}
	}
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
	head := fmt.Sprintf("%s profile=%s root=%t trigger=%s signal=%d phase=%s state=%s desired=%s prior_exit=%s exit_code=%d params=%v",
		in.Kind, in.Profile, in.Root, in.Trigger, in.Signal, in.Phase, in.State, in.Desired, in.PriorExit, in.ExitCode, in.Params.Map())
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
