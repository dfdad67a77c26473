package policy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

// padded is an exit input whose record is about n bytes longer than usual.
func padded(n int) *hostabi.Input {
	in := exitInput(1)
	in.Params = hostabi.Params{{Key: "pad", Type: hostabi.ParamString, Str: strings.Repeat("x", n)}}
	return in
}

// TestInputBufferAskedOncePerInstance: an instance is asked for its input
// buffer before its first decision and again only for a larger input; every
// decision is written into that buffer.
func TestInputBufferAskedOncePerInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "buffer"), OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	steps := []struct {
		name string
		pad  int
		want string
	}{
		{"first decision", 0, "allocs 1"},
		{"same size", 0, "allocs 1"},
		{"larger but within 4 KiB", 3000, "allocs 1"},
		{"larger than the buffer", 12000, "allocs 2"},
		{"small again", 0, "allocs 2"},
		{"within the grown buffer", 11000, "allocs 2"},
		{"the largest parameters", hostabi.MaxParamsSize - 12, "allocs 3"},
	}
	for _, s := range steps {
		res, err := e.Decide(ctx, padded(s.pad))
		require.NoError(t, err, s.name)
		require.False(t, res.Fallback, "%s: %s", s.name, res.FallbackReason)
		assert.Equal(t, s.want, res.Decision.Reason, s.name)
	}
}

// TestDefaultModuleGrowsItsInputBuffer: the embedded default module keeps
// answering like the fallback across inputs that make it replace its buffer.
func TestDefaultModuleGrowsItsInputBuffer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := policy.Open(ctx, policy.Options{OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	for _, n := range []int{0, 12000, 0, hostabi.MaxParamsSize - 12, 100, 0} {
		in := padded(n)
		res, err := e.Decide(ctx, in)
		require.NoError(t, err, "pad %d", n)
		require.False(t, res.Fallback, "pad %d: %s", n, res.FallbackReason)
		assert.Equal(t, fallback.Decide(in), res.Decision, "pad %d", n)
	}
}
