package boot

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Environment variables boot reads, as upstream's image does.
const (
	// EnvBootstrapState seeds the root profile's state on a volume that
	// has none (upstream #37896): the policy sees it as the parameter
	// bootstrap_state.
	EnvBootstrapState = "HERMES_GATEWAY_BOOTSTRAP_STATE"
	// EnvNoSupervise set to 1, true or yes turns the legacy command's
	// migration off (upstream: the gateway then runs unsupervised).
	EnvNoSupervise = "HERMES_GATEWAY_NO_SUPERVISE"
	// EnvMultiplex, when set to a recognized boolean, overrides the
	// policy parameter multiplex_profiles (as it overrides config.yaml
	// for hermes itself).
	EnvMultiplex = "GATEWAY_MULTIPLEX_PROFILES"
)

// wrapperName is the word of the container's command that upstream's
// image puts before the hermes subcommand (its entrypoint wrapper).
const wrapperName = "main-wrapper.sh"

// ContainerArgv is the container's main command line as upstream's
// reconciler finds it: PID 1's argv when it holds a word containing
// "main-wrapper.sh" (s6-overlay v2, tini), else the argv of the first
// process (in pid order) that holds one (s6-overlay v3 runs the command
// under rc.init), else none. Empty words are dropped; bytes that are not
// UTF-8 are kept as they are (upstream replaces them, which no rule
// looks at).
func ContainerArgv(proc string) []string {
	if argv := cmdline(filepath.Join(proc, "1", "cmdline")); hasWrapper(argv) {
		return argv
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	for _, pid := range pids {
		if argv := cmdline(filepath.Join(proc, strconv.Itoa(pid), "cmdline")); hasWrapper(argv) {
			return argv
		}
	}
	return nil
}

func cmdline(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var argv []string
	for _, w := range bytes.Split(b, []byte{0}) {
		if len(w) > 0 {
			argv = append(argv, string(w))
		}
	}
	return argv
}

func hasWrapper(argv []string) bool {
	for _, a := range argv {
		if strings.Contains(a, wrapperName) {
			return true
		}
	}
	return false
}
