package boot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/boot"
)

// BenchmarkBoot1000 is a container restart with 1000 named profiles (plus
// default): the volume was booted before, the scan directory is new (as
// /run/service is a fresh tmpfs in a container), the policy is opened once
// beforehand (warm). Slots go to /dev/shm when it exists.
func BenchmarkBoot1000(b *testing.B) { bootN(b, 1000, false) }

// BenchmarkBoot10 and BenchmarkBoot100 are BenchmarkBoot1000 at smaller
// sizes, to show how the per-profile cost grows.
func BenchmarkBoot10(b *testing.B)  { bootN(b, 10, false) }
func BenchmarkBoot100(b *testing.B) { bootN(b, 100, false) }

// BenchmarkBoot1000FirstBoot is the first boot of a volume whose 1000
// profiles were never booted: every profile's log directory, state
// directory and decision journal are created. Its reference is the same
// number of bare file creations on the same file system, timed in the same
// loop (inode-floor-ms), because creating an inode is what this costs and
// its price depends on the file system's history, not on this program.
func BenchmarkBoot1000FirstBoot(b *testing.B) { bootN(b, 1000, true) }

func bootN(b *testing.B, n int, fresh bool) {
	root := b.TempDir()
	shm := "/dev/shm"
	if fi, err := os.Stat(shm); err != nil || !fi.IsDir() {
		shm = b.TempDir()
	}
	base, err := os.MkdirTemp(shm, "boot-bench-")
	require.NoError(b, err)
	b.Cleanup(func() { os.RemoveAll(base) })

	h := makeHome(b, filepath.Join(root, "home-0"), n)
	o := options(b, h, false)
	if !fresh { // booted once before: the volume a container restart finds
		o.Config.Scandir = filepath.Join(base, "service-warmup")
		_, err := boot.Run(context.Background(), o)
		require.NoError(b, err)
	}
	var boots, floors []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if fresh && i > 0 {
			b.StopTimer()
			o.Config.Home = makeHome(b, filepath.Join(root, fmt.Sprintf("home-%d", i)), n)
			b.StartTimer()
		}
		// The floor goes before the boot on even iterations and after it
		// on odd ones: this file system gets slower at creating inodes as
		// it churns, and a fixed order would favour whichever runs first.
		floor := func() {
			b.StopTimer()
			floors = append(floors, createInodes(b, filepath.Join(root, fmt.Sprintf("floor-%d", i)), n+1))
			b.StartTimer()
		}
		if fresh && i%2 == 0 {
			floor()
		}
		o.Config.Scandir = filepath.Join(base, fmt.Sprintf("service-%d", i))
		start := time.Now()
		rep, err := boot.Run(context.Background(), o)
		boots = append(boots, time.Since(start))
		if err != nil || len(rep.Outcomes) != n+1 {
			b.Fatalf("boot: %d outcomes, %v", len(rep.Outcomes), err)
		}
		if fresh && i%2 == 1 {
			floor()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(median(boots).Microseconds())/float64(n+1), "us/profile")
	b.ReportMetric(float64(median(boots).Microseconds())/1000, "median-ms")
	if fresh {
		b.ReportMetric(float64(median(floors).Microseconds())/1000, "inode-floor-ms")
		b.ReportMetric(float64(median(boots))/float64(median(floors)), "ratio")
	}
}

// makeHome writes a volume of n named profiles in three prior states.
func makeHome(b *testing.B, h string, n int) string {
	states := []string{`{"gateway_state":"running","desired_state":"running"}`, `{"gateway_state":"stopped","desired_state":"stopped"}`, ""}
	for i := 0; i < n; i++ {
		dir := filepath.Join(h, "profiles", fmt.Sprintf("p%04d", i))
		require.NoError(b, os.MkdirAll(dir, 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, "profile.toml"), nil, 0o644))
		if s := states[i%len(states)]; s != "" {
			require.NoError(b, os.WriteFile(filepath.Join(dir, "gateway_state.json"), []byte(s), 0o644))
		}
	}
	return h
}

// createInodes times what a first boot must create per profile at the
// least, bare: a log directory, a state directory and a file in it.
func createInodes(b *testing.B, dir string, n int) time.Duration {
	for i := 0; i < n; i++ {
		require.NoError(b, os.MkdirAll(filepath.Join(dir, "p", fmt.Sprint(i)), 0o755))
	}
	require.NoError(b, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	start := time.Now()
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "p", fmt.Sprint(i))
		require.NoError(b, os.Mkdir(filepath.Join(dir, "logs", fmt.Sprint(i)), 0o755))
		require.NoError(b, os.Mkdir(filepath.Join(p, "state"), 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(p, "state", "f"), []byte("x\n"), 0o644))
	}
	return time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
