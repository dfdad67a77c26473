// Package arch checks the project's import rules (RATIONALE.md, "Why these
// import rules?"): which package of this module may import which. A rule
// broken here is a design decision to make in RATIONALE.md first.
package arch

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/hermes-supervisor/hermes-supervisor/"

// allowed lists, for each package of the module (by its path inside the
// module), the module's packages its non-test code may import. A package
// missing from the table fails the test: add it, with its rule.
var allowed = map[string][]string{
	"hostabi":       {},
	"hostabi/guest": {"hostabi"},

	"policies":                    {},
	"policies/examples/crashloop": {"hostabi", "hostabi/guest", "policy/fallback"},
	"policy/fallback":             {"hostabi"},
	"policy/internal/fuel":        {},
	"policy/internal/wattest":     {},
	"policy/internal/bench":       {"hostabi", "policy", "policy/fallback"},
	"policy":                      {"hostabi", "policies", "policy/fallback", "policy/internal/fuel"},
	"policy/fixture":              {"hostabi", "policy", "policy/fallback"},
	"policy/build":                {"hostabi"},
	"policy/build/template":       {"hostabi", "hostabi/guest"},
	"policy/differential":         {"hostabi", "policy", "policy/fallback", "policy/fixture"},

	"s6":        {},
	"s6/s6test": {"s6"},

	"supervisor/volume":         {},
	"supervisor/show":           {},
	"supervisor/profile":        {"supervisor/volume"},
	"supervisor/config":         {"supervisor/volume"},
	"supervisor/state":          {"hostabi", "supervisor/profile", "supervisor/volume"},
	"supervisor/lifecycle":      {"hostabi", "supervisor/profile", "supervisor/state"},
	"supervisor/journal":        {"hostabi", "supervisor/volume"},
	"supervisor/journal/replay": {"hostabi", "policy", "policy/fixture", "supervisor/journal"},
	"supervisor/engine":         {"hostabi", "policy", "supervisor/config", "supervisor/volume"},
	"supervisor/slot":           {"s6", "supervisor/config", "supervisor/profile", "supervisor/volume"},
	"supervisor/boot": {"hostabi", "policy", "policy/fallback", "s6", "supervisor/config", "supervisor/engine", "supervisor/journal",
		"supervisor/lifecycle", "supervisor/profile", "supervisor/slot", "supervisor/state", "supervisor/volume"},
	"supervisor/runner": {"hostabi", "policy", "supervisor/config", "supervisor/engine", "supervisor/journal",
		"supervisor/lifecycle", "supervisor/profile", "supervisor/state", "supervisor/volume"},
	"supervisor/ops": {"hostabi", "s6", "supervisor/config", "supervisor/journal", "supervisor/lifecycle",
		"supervisor/profile", "supervisor/slot", "supervisor/state", "supervisor/volume"},
	"supervisor/registrar": {"s6", "supervisor/config", "supervisor/profile", "supervisor/slot", "supervisor/volume"},

	"cmd/standin-gateway": {},
	"cmd/supervisor":      {"*"}, // the wiring: anything but the tests' packages
}

// tests/... packages drive the product through its command line: they may
// import each other, never the product.
func allowedFor(pkg string) ([]string, bool) {
	if strings.HasPrefix(pkg, "tests/") {
		return []string{"tests/"}, true
	}
	a, ok := allowed[pkg]
	return a, ok
}

type listed struct {
	ImportPath  string
	Imports     []string
	TestImports []string
	XTestImport []string `json:"XTestImports"`
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var broken []string
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, module)
		rules, ok := allowedFor(pkg)
		if !ok {
			broken = append(broken, pkg+": no import rule; add it to tests/arch and RATIONALE.md")
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if !permitted(rules, dep) {
				broken = append(broken, pkg+" imports "+dep)
			}
		}
		for _, imp := range append(p.TestImports, p.XTestImport...) {
			if dep, ours := strings.CutPrefix(imp, module); ours && strings.HasPrefix(dep, "cmd/") {
				broken = append(broken, pkg+" (tests) imports "+dep+": drive the binary, never import it")
			}
		}
	}
	sort.Strings(broken)
	for _, b := range broken {
		t.Error(b)
	}
}

func permitted(rules []string, dep string) bool {
	for _, r := range rules {
		switch {
		case r == "*":
			return !strings.HasPrefix(dep, "tests/")
		case strings.HasSuffix(r, "/") && strings.HasPrefix(dep, r), r == dep:
			return true
		}
	}
	return false
}
