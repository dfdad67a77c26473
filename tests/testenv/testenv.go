// Package testenv holds what the project's tests share about how they run:
// whether the long campaigns are on, and the seeds of randomised tests.
//
// The default `go test ./...` stays fast: campaigns run a few trials, grids
// a sample. HERMES_TEST_LONG=1 (set by tests/run.sh, and so by CI) runs
// them in full. A randomised test logs its seed; HERMES_TEST_SEED=N replays
// it.
//
// It must not import the product's packages.
package testenv

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Long reports whether the long campaigns run (HERMES_TEST_LONG=1).
func Long() bool {
	v := os.Getenv("HERMES_TEST_LONG")
	return v != "" && v != "0"
}

// Trials is long when the long campaigns run, short otherwise; it logs
// which.
func Trials(t testing.TB, short, long int) int {
	t.Helper()
	if Long() {
		return long
	}
	t.Logf("%d trials (HERMES_TEST_LONG=1 runs %d)", short, long)
	return short
}

// Seed returns the seed of a randomised test: HERMES_TEST_SEED when set,
// else one drawn from the clock. It logs the seed and how to replay it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	if v := os.Getenv("HERMES_TEST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HERMES_TEST_SEED=%q is not a number", v)
		}
		t.Logf("seed %d (from HERMES_TEST_SEED)", s)
		return s
	}
	s := uint64(time.Now().UnixNano())
	t.Logf("seed %d (replay: HERMES_TEST_SEED=%d go test -run '^%s$')", s, s, t.Name())
	return s
}
