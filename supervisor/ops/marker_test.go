package ops_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/state"
)

// TestCommandsTidyStaleMarkers: a start, stop or restart removes a
// planned-stop marker naming a process that is gone (or a malformed one),
// and keeps one naming a live process.
func TestCommandsTidyStaleMarkers(t *testing.T) {
	gone := exec.Command("/bin/true")
	require.NoError(t, gone.Start())
	goneProc, err := state.ProcOf(gone.Process.Pid)
	require.NoError(t, err)
	require.NoError(t, gone.Wait())
	self, err := state.Self()
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		write func(path string) error
		kept  bool
	}{
		"names a process that is gone": {func(p string) error {
			_, err := state.WriteMarker(p, goneProc, state.IntentStop, time.Now())
			return err
		}, false},
		"malformed": {func(p string) error { return os.WriteFile(p, []byte("{"), 0o644) }, false},
		"names a live process": {func(p string) error {
			_, err := state.WriteMarker(p, self, state.IntentStop, time.Now())
			return err
		}, true},
	} {
		t.Run(name, func(t *testing.T) {
			o := newOps(t)
			ctx := context.Background()
			_, err := o.CreateProfile(ctx, "coder")
			require.NoError(t, err)
			p, err := profile.For(o.Config.Home, "coder")
			require.NoError(t, err)
			marker := p.Marker
			require.NoError(t, tc.write(marker))
			require.NoError(t, o.Stop(ctx, "coder")) // no slot: records the intent only
			_, err = os.Lstat(marker)
			assert.Equal(t, tc.kept, err == nil, "marker kept: %v", err)
		})
	}
}
