package overlay_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/tests/container"
	"github.com/hermes-supervisor/hermes-supervisor/tests/overlay"
)

func TestMain(m *testing.M) {
	code := m.Run()
	overlay.Cleanup()
	container.Cleanup()
	os.Exit(code)
}

func TestBootSmoke(t *testing.T) {
	c := overlay.New(t, overlay.Options{})
	c.Start()
	c.WaitBooted(30 * time.Second)
	r := c.Supervisor(overlay.HermesUID, "gateway", "status", "--all")
	require.True(t, r.OK(), r.String())
	t.Log(r.Stdout)
	st := c.Stop()
	t.Logf("stop %s", st.After)
	t.Log(c.ConsoleText())
}
