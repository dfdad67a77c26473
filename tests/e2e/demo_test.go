package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
)

// TestDemo runs the README's first command, tests/demo.sh, as a reader
// would pipe it into a file: it succeeds, alpha comes back after the
// container restart while beta stays down, and the output holds no
// terminal escape (stdout is no terminal), nor with NO_COLOR set.
func TestDemo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("tests/demo.sh runs as root (it boots a simulated container)")
	}
	root, err := container.ModuleRoot()
	require.NoError(t, err)
	demo := filepath.Join(root, "tests", "demo.sh")
	t.Run("piped", func(t *testing.T) {
		cmd := exec.Command("bash", demo)
		cmd.Env = append(os.Environ(), "NO_COLOR=")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		s := string(out)
		assert.NotContains(t, s, "\x1b", "no ANSI escape when stdout is not a terminal")
		after := s[strings.Index(s, "== Status after the restart"):]
		assert.Regexp(t, `\n   alpha\tup\t`, after)
		assert.Regexp(t, `\n   beta\tdown\t`, after)
	})
	for name, noColor := range map[string]string{"terminal": "", "terminal with NO_COLOR": "1"} {
		t.Run(name, func(t *testing.T) {
			if _, err := exec.LookPath("script"); err != nil {
				t.Fatal("script(1) not found (it gives the demo a terminal): apt-get install -y bsdutils")
			}
			cmd := exec.Command("script", "-qec", "bash "+demo, "/dev/null")
			cmd.Env = append(os.Environ(), "NO_COLOR="+noColor)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "== Status after the restart")
			assert.Equal(t, noColor == "", strings.Contains(string(out), "\x1b[1m"), "bold headings on a terminal, unless NO_COLOR is set")
		})
	}
}
