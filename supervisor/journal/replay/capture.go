package replay

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
)

// Capture turns journalled decisions into a fixture file for "supervisor
// policy test": one scenario per decision, its input as recorded, the
// recorded answer as the expectation (every field the supervisor acts upon;
// not the reason's wording). The file names no module: test it with
// --policy. Decisions the native fallback made are left out (skipped
// counts them): the module that recorded them did not answer, so they
// would test nothing about it.
func Capture(es []journal.Entry, header string) (out []byte, skipped int, err error) {
	var scs []fixture.Scenario
	for i, e := range es {
		if e.Fallback {
			skipped++
			continue
		}
		scs = append(scs, scenario(i+1, e))
	}
	if len(scs) == 0 {
		return nil, skipped, fmt.Errorf("capture: %w a module answered (%d made by the native fallback)", ErrNoDecisions, skipped)
	}
	var b bytes.Buffer
	for _, l := range bytes.Split([]byte(header), []byte{'\n'}) {
		b.WriteString("# ")
		b.Write(l)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if err := fixture.Encode(&b, scs); err != nil {
		return nil, skipped, fmt.Errorf("capture: %w", err)
	}
	return b.Bytes(), skipped, nil
}

func scenario(n int, e journal.Entry) fixture.Scenario {
	in := e.Input
	in.Kind = e.Kind
	return fixture.Scenario{
		Name: fmt.Sprintf("%d: %s %s %s, recorded by %s: %s", n, e.Time.UTC().Format(time.RFC3339), e.Profile, e.Kind,
			e.Policy, Answer(e.Kind, e.Decision)),
		Input:  in,
		Expect: fixture.ExpectDecision(e.Decision),
	}
}
