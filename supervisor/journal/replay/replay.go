// Package replay puts a policy module to the test of a profile's history:
// Replay asks a candidate module every decision the journal recorded and
// reports those it would answer differently; Capture turns recorded
// decisions into fixture scenarios for "supervisor policy test".
//
// It imports hostabi, policy and supervisor/journal; never the runner,
// boot, s6 or cmd: it makes no decision of its own and touches no state.
package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
)

// Decider is a candidate policy; *policy.Engine is one.
type Decider interface {
	Decide(ctx context.Context, in *hostabi.Input) (policy.Result, error)
	Identity() string
}

// Verdict of one replayed decision.
type Verdict string

const (
	Same      Verdict = "same"      // the candidate answers as recorded
	Changed   Verdict = "changed"   // the candidate answers differently
	Undecided Verdict = "undecided" // the candidate did not answer: it failed, declined, or does not make this decision
)

// Row is one replayed decision.
type Row struct {
	Entry     journal.Entry     `json:"entry"`
	Verdict   Verdict           `json:"verdict"`
	Candidate *hostabi.Decision `json:"candidate,omitempty"`
	Why       string            `json:"why,omitempty"` // when Undecided
}

// Report is the outcome of a replay.
type Report struct {
	Policy    string `json:"policy"` // the candidate's identity
	Rows      []Row  `json:"rows"`
	Same      int    `json:"same"`
	Changed   int    `json:"changed"`
	Undecided int    `json:"undecided"`
}

// OK reports whether the candidate answers every decision as recorded.
func (r *Report) OK() bool { return r.Changed == 0 && r.Undecided == 0 }

// Replay asks cand every decision of es, with the input recorded, and
// compares its answer with the recorded one. Answers are compared on what
// the supervisor acts upon (action, state, desired, exit code, delay), not
// on the reason's wording. An answer of the native fallback is Undecided,
// never Same: the candidate itself did not decide. Entries no policy
// decided (journal.Entry.Refused) are left out.
func Replay(ctx context.Context, cand Decider, es []journal.Entry) *Report {
	rep := &Report{Policy: cand.Identity()}
	for _, e := range es {
		if e.Refused != "" {
			continue // no policy decided: nothing to compare with
		}
		in := e.Input
		if in.Params == nil {
			in.Params = hostabi.Params{} // the recorded (empty) parameters, not the candidate's defaults
		}
		row := Row{Entry: e}
		r, err := cand.Decide(ctx, &in)
		switch {
		case err != nil:
			row.Verdict, row.Why = Undecided, err.Error()
		case r.Fallback:
			row.Verdict, row.Why = Undecided, r.FallbackReason
		default:
			d := r.Decision
			row.Candidate = &d
			row.Verdict = Changed
			if Equal(d, e.Decision) {
				row.Verdict = Same
			}
		}
		switch row.Verdict {
		case Same:
			rep.Same++
		case Changed:
			rep.Changed++
		default:
			rep.Undecided++
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

// Equal reports whether two answers make the supervisor do the same thing:
// every field but the reason.
func Equal(a, b hostabi.Decision) bool {
	a.Reason, b.Reason = "", ""
	return a == b
}

// Answer renders a decision in a few words for a table cell:
// "down", "state=running exit=1", "restart state=running delay=2s".
func Answer(k hostabi.Kind, d hostabi.Decision) string {
	s := ""
	add := func(v string) {
		if s != "" {
			s += " "
		}
		s += v
	}
	if d.Action != hostabi.ActionNone {
		add(d.Action.String())
	}
	if d.State != hostabi.StateNone {
		add("state=" + d.State.String())
	}
	if d.Desired != hostabi.StateNone {
		add("desired=" + d.Desired.String())
	}
	if k == hostabi.KindShutdown {
		add(fmt.Sprintf("exit=%d", d.ExitCode))
	}
	if d.Delay != 0 {
		add("delay=" + d.Delay.String())
	}
	return s
}

// ErrNoDecisions: the journal holds no decision to replay or capture.
var ErrNoDecisions = errors.New("no journalled decision")
