package replay

import (
	"bytes"
	"fmt"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
)

// The fixture format of package policy/fixture, as Capture writes it.
type capFile struct {
	Scenario []capScenario `toml:"scenario"`
}

type capScenario struct {
	Name     string    `toml:"name"`
	Decision string    `toml:"decision"`
	Input    capInput  `toml:"input"`
	Expect   capExpect `toml:"expect"`
}

type capInput struct {
	Profile    string            `toml:"profile"`
	Root       bool              `toml:"root"`
	Now        time.Time         `toml:"now"`
	Trigger    hostabi.Trigger   `toml:"trigger"`
	Signal     int32             `toml:"signal"`
	Phase      hostabi.Phase     `toml:"phase"`
	Uptime     string            `toml:"uptime"`
	State      hostabi.State     `toml:"state"`
	Desired    hostabi.State     `toml:"desired"`
	StateSince *time.Time        `toml:"state_since,omitempty"`
	PriorExit  hostabi.PriorExit `toml:"prior_exit"`
	ExitCode   int32             `toml:"exit_code"`
	Params     map[string]any    `toml:"params"`
	History    []capExit         `toml:"history,omitempty"`
}

type capExit struct {
	Time     time.Time       `toml:"time"`
	Uptime   string          `toml:"uptime"`
	ExitCode int32           `toml:"exit_code"`
	Signal   int32           `toml:"signal"`
	Trigger  hostabi.Trigger `toml:"trigger"`
	Verdict  hostabi.Action  `toml:"verdict"`
}

type capExpect struct {
	Action   hostabi.Action `toml:"action"`
	State    hostabi.State  `toml:"state"`
	Desired  hostabi.State  `toml:"desired"`
	ExitCode int32          `toml:"exit_code"`
	Delay    string         `toml:"delay"`
}

// Capture turns journalled decisions into a fixture file for "supervisor
// policy test": one scenario per decision, its input as recorded, the
// recorded answer as the expectation (every field the supervisor acts upon;
// not the reason's wording). The file names no module: test it with
// --policy. Decisions the native fallback made are left out (skipped
// counts them): the module that recorded them did not answer, so they
// would test nothing about it.
func Capture(es []journal.Entry, header string) (out []byte, skipped int, err error) {
	var f capFile
	for i, e := range es {
		if e.Fallback {
			skipped++
			continue
		}
		f.Scenario = append(f.Scenario, scenario(i+1, e))
	}
	if len(f.Scenario) == 0 {
		return nil, skipped, fmt.Errorf("capture: %w a module answered (%d made by the native fallback)", ErrNoDecisions, skipped)
	}
	var b bytes.Buffer
	for _, l := range bytes.Split([]byte(header), []byte{'\n'}) {
		b.WriteString("# ")
		b.Write(l)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if err := toml.NewEncoder(&b).Encode(f); err != nil {
		return nil, skipped, fmt.Errorf("capture: %w", err)
	}
	return b.Bytes(), skipped, nil
}

func scenario(n int, e journal.Entry) capScenario {
	in := e.Input
	s := capScenario{
		Name: fmt.Sprintf("%d: %s %s %s, recorded by %s: %s", n, e.Time.UTC().Format(time.RFC3339), e.Profile, e.Kind,
			e.Policy, Answer(e.Kind, e.Decision)),
		Decision: e.Kind.String(),
		Input: capInput{
			Profile: in.Profile, Root: in.Root, Now: in.Now.UTC(), Trigger: in.Trigger, Signal: in.Signal,
			Phase: in.Phase, Uptime: in.Uptime.String(), State: in.State, Desired: in.Desired,
			PriorExit: in.PriorExit, ExitCode: in.ExitCode, Params: in.Params.Map(),
		},
		Expect: capExpect{
			Action: e.Decision.Action, State: e.Decision.State, Desired: e.Decision.Desired,
			ExitCode: e.Decision.ExitCode, Delay: e.Decision.Delay.String(),
		},
	}
	if !in.StateSince.IsZero() {
		t := in.StateSince.UTC()
		s.Input.StateSince = &t
	}
	for _, h := range in.History {
		s.Input.History = append(s.Input.History, capExit{Time: h.Time.UTC(), Uptime: h.Uptime.String(),
			ExitCode: h.ExitCode, Signal: h.Signal, Trigger: h.Trigger, Verdict: h.Verdict})
	}
	return s
}
