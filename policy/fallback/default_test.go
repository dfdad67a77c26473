package fallback_test

// The embedded default module (package policies) against the native
// fallback: they must agree, answer for answer, on every default fixture
// and on the exhaustive grid of package differential.

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/policies"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/differential"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fixture"
	"github.com/hermes-supervisor/hermes-supervisor/policy/internal/bench"
)

func openDefault(t testing.TB) *policy.Engine {
	t.Helper()
	ctx := context.Background()
	// A generous limit: on a loaded machine a pause must not pass for a failure.
	e, err := policy.Open(ctx, policy.Options{Wasm: policies.Default, OnError: policy.OnErrorFail, Timeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(ctx) })
	return e
}

func TestDefaultModuleIsSmall(t *testing.T) {
	t.Parallel()
	assert.LessOrEqual(t, len(policies.Default), 64<<10, "the default module must stay within 64 KiB")
}

func TestDefaultFixturesPassAndAgree(t *testing.T) {
	t.Parallel()
	e := openDefault(t)
	require.Equal(t, "default", e.Metadata().Name)
	n := 0
	err := fs.WalkDir(policies.DefaultFixtures, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".toml") {
			return err
		}
		f, err := fixture.LoadFS(policies.DefaultFixtures, p)
		require.NoError(t, err)
		for i := range f.Scenarios {
			n++
			res := fixture.RunScenario(context.Background(), e, &f.Scenarios[i])
			assert.Equal(t, fixture.Pass, res.Outcome, "%s: %s: %v %s", p, res.Scenario, res.Mismatches, res.Error)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, n, "no default fixture found")

	inputs, m, err := differential.Scenarios(policies.DefaultFixtures)
	require.NoError(t, err)
	require.Equal(t, n, m)
	_, diffs := differential.Compare(context.Background(), e, inputs, 20)
	for _, d := range diffs {
		t.Error(d)
	}
}

// TestDefaultAgreesOnTheGrid is the one run of the differential grid: a
// seeded sample by default, the whole grid with HERMES_TEST_LONG=1.
func TestDefaultAgreesOnTheGrid(t *testing.T) {
	t.Parallel()
	e := openDefault(t)
	grid, want := differential.TestInputs(t)
	n, diffs := differential.Compare(context.Background(), e, grid, 20)
	assert.Equal(t, want, n)
	for _, d := range diffs {
		t.Error(d)
	}
}

// Benchmarks of the embedded default module; the native floor is
// policy's BenchmarkDecideNative and BenchmarkDefaultDecideNative below.

func BenchmarkDefaultDecideWarm(b *testing.B) { bench.DecideWarm(b, policies.Default) }

// BenchmarkDefaultDecideWarmAsOperatorModule: the same code run the way an
// operator's module is (termination checks, the watchdog), for comparison.
func BenchmarkDefaultDecideWarmAsOperatorModule(b *testing.B) {
	bench.DecideWarm(b, bench.AsOperatorModule(policies.Default))
}

// BenchmarkDefaultDecideNative is the floor, measured in the same process:
// the same decision by the native fallback.
func BenchmarkDefaultDecideNative(b *testing.B) { bench.DecideNative(b) }

func BenchmarkDefaultFirstDecision(b *testing.B) { bench.FirstDecision(b, policies.Default) }
func BenchmarkDefaultMemoryHeld(b *testing.B)    { bench.MemoryHeld(b, policies.Default) }
