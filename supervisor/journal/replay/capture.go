package replay

import (
	"bytes"
	"fmt"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/journal"
)

// Captured is what Capture wrote.
type Captured struct {
	File      []byte // the fixture file
	Scenarios int    // one per decision captured
	Fallback  int    // decisions left out: the native fallback made them
	Refused   int    // entries left out: no policy decided (see journal.Entry.Refused)
}

// Capture turns journalled decisions into a fixture file for "supervisor
// policy test": one scenario per decision, its input as recorded, the
// recorded answer as the expectation (every field the supervisor acts upon;
// not the reason's wording).
//
// module is the module the file tests (its "policy" line): the file the
// decisions' module was loaded from, as an absolute path, or
// "embedded:default"; "" writes no policy line (test the file with
// --policy). The caller passes only decisions that module made, so that
// "policy test" on the file passes unchanged. Decisions the native
// fallback made are left out (the module did not answer them), and so are
// entries no policy decided.
func Capture(es []journal.Entry, module, header string) (Captured, error) {
	var out Captured
	var scs []fixture.Scenario
	for i, e := range es {
		switch {
		case e.Refused != "":
			out.Refused++
			continue
		case e.Fallback:
			out.Fallback++
			continue
		}
		scs = append(scs, scenario(i+1, e))
	}
	if len(scs) == 0 {
		return out, fmt.Errorf("%w a module answered (%d made by the native fallback)", ErrNoDecisions, out.Fallback)
	}
	var b bytes.Buffer
	for _, l := range bytes.Split([]byte(header), []byte{'\n'}) {
		b.WriteString("# ")
		b.Write(l)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if module != "" {
		if err := toml.NewEncoder(&b).Encode(struct {
			Policy string `toml:"policy"`
		}{module}); err != nil {
			return out, fmt.Errorf("capture: %w", err)
		}
		b.WriteByte('\n')
	}
	if err := fixture.Encode(&b, scs); err != nil {
		return out, fmt.Errorf("capture: %w", err)
	}
	out.File, out.Scenarios = b.Bytes(), len(scs)
	return out, nil
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
