package boot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
)

// BenchmarkBoot1000 boots 1000 named profiles (plus default) into a fresh
// scan directory each time, with the policy opened once beforehand (warm).
// Slots go to /dev/shm (tmpfs) when it exists, as /run/service is tmpfs in
// a container.
func BenchmarkBoot1000(b *testing.B) { bootN(b, 1000) }

// BenchmarkBoot10 and BenchmarkBoot100 are BenchmarkBoot1000 at smaller
// sizes, to show how the per-profile cost grows.
func BenchmarkBoot10(b *testing.B)  { bootN(b, 10) }
func BenchmarkBoot100(b *testing.B) { bootN(b, 100) }

func bootN(b *testing.B, n int) {
	h := b.TempDir()
	states := []string{`{"gateway_state":"running","desired_state":"running"}`, `{"gateway_state":"stopped","desired_state":"stopped"}`, ""}
	for i := 0; i < n; i++ {
		dir := filepath.Join(h, "profiles", fmt.Sprintf("p%04d", i))
		require.NoError(b, os.MkdirAll(dir, 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, "profile.toml"), nil, 0o644))
		if s := states[i%len(states)]; s != "" {
			require.NoError(b, os.WriteFile(filepath.Join(dir, "gateway_state.json"), []byte(s), 0o644))
		}
	}
	shm := "/dev/shm"
	if fi, err := os.Stat(shm); err != nil || !fi.IsDir() {
		shm = b.TempDir()
	}
	base, err := os.MkdirTemp(shm, "boot-bench-")
	require.NoError(b, err)
	b.Cleanup(func() { os.RemoveAll(base) })
	o, _, _ := options(b, h, false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o.Config.Scandir = filepath.Join(base, fmt.Sprintf("service-%d", i))
		outs, err := boot.Run(context.Background(), o)
		if err != nil || len(outs) != n+1 {
			b.Fatalf("boot: %d outcomes, %v", len(outs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n+1), "us/profile")
}
