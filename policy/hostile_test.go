package policy_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/policy/fallback"
)

// hostile is the catalogue of modules that misbehave, with what the log line
// and the fallback reason must say. load: the module is refused at Open.
var hostile = []struct {
	name    string
	load    bool
	timeout time.Duration // a generous limit when the module must be stopped by something else
	want    string
	is      error
}{
	{name: "loop", want: "timed out after 100ms"},
	{name: "membomb", timeout: time.Minute, want: "out of bounds memory access"},
	{name: "trap", want: "unreachable"},
	{name: "malformed", want: "does not match its reason length"},
	{name: "oversized", want: "oversized output"},
	{name: "outofrange", want: "action action(9) is not restart or stop"},
	{name: "outofbounds", want: "outside the module's 65536-byte memory"},
	{name: "badalloc", want: "hermes_alloc returned [65530, +101)"},
	{name: "wrongabi", load: true, want: "module speaks ABI 2.0, this host speaks ABI major 1", is: policy.ErrABI},
	{name: "missingexport", load: true, want: `function \"hermes_decide\"`, is: policy.ErrExport},
	{name: "hostimport", load: true, want: "forbidden import: function env.now", is: policy.ErrImport},
	{name: "badmetadata", load: true, want: "metadata has no name"},
	{name: "initloop", load: true, want: "_initialize: timed out"},
}

func TestHostileModulesYieldTheLoggedFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			path := module(t, "hostile", h.name)
			log, logs := newLogger()
			e, err := policy.Open(ctx, policy.Options{Module: path, Logger: log, Timeout: h.timeout})
			require.NoError(t, err, "with on_error = fallback a bad module is not an error")
			defer e.Close(ctx)
			if h.load {
				require.ErrorIs(t, e.LoadError(), policy.ErrModule)
				if h.is != nil {
					require.ErrorIs(t, e.LoadError(), h.is)
				}
			} else {
				require.NoError(t, e.LoadError())
			}
			for i := 0; i < 2; i++ { // the second call meets a fresh instance, and fails the same way
				in := exitInput(1)
				res, err := e.Decide(ctx, in)
				require.NoError(t, err)
				assert.True(t, res.Fallback)
				assert.Contains(t, res.FallbackReason, strings.ReplaceAll(h.want, `\"`, `"`))
				assert.Equal(t, fallback.Exit(in), res.Decision)
				assert.True(t, strings.HasPrefix(res.Policy, h.name+"@"), res.Policy)
			}
			line := logs.String()
			assert.Contains(t, line, "module="+h.name+"@")
			assert.Contains(t, line, h.want)
			if !h.load {
				assert.Equal(t, 2, strings.Count(line, "module failed; deciding with the native fallback"), line)
			}
		})
	}
}

func TestOnErrorFail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			path := module(t, "hostile", h.name)
			e, err := policy.Open(ctx, policy.Options{Module: path, OnError: policy.OnErrorFail, Timeout: h.timeout})
			if h.load {
				require.ErrorIs(t, err, policy.ErrModule)
				assert.Contains(t, err.Error(), path)
				assert.Contains(t, strings.ReplaceAll(err.Error(), `"`, `\"`), h.want)
				return
			}
			require.NoError(t, err)
			defer e.Close(ctx)
			res, err := e.Decide(ctx, exitInput(1))
			require.ErrorIs(t, err, policy.ErrModule)
			assert.Contains(t, err.Error(), h.name+"@")
			assert.Contains(t, err.Error(), strings.ReplaceAll(h.want, `\"`, `"`))
			assert.False(t, res.Fallback)
		})
	}
}

// cacheFiles lists the regular files wazero wrote into the cache.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestCompilationCacheHeals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := module(t, "modules", "counter")
	damage := map[string]func(t *testing.T, file string){
		"bit flip": func(t *testing.T, file string) {
			b := mustRead(t, file)
			for i := len(b) / 2; i < len(b); i += 7 {
				b[i] ^= 0xff
			}
			require.NoError(t, os.WriteFile(file, b, 0o644))
		},
		"truncated": func(t *testing.T, file string) {
			b := mustRead(t, file)
			require.NoError(t, os.WriteFile(file, b[:len(b)/2], 0o644))
		},
		"emptied": func(t *testing.T, file string) {
			require.NoError(t, os.WriteFile(file, nil, 0o644))
		},
	}
	for name, spoil := range damage {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cache := filepath.Join(t.TempDir(), "cache")
			open := func() (*policy.Engine, *logBuffer) {
				log, logs := newLogger()
				e, err := policy.Open(ctx, policy.Options{Module: path, CacheDir: cache, Logger: log, OnError: policy.OnErrorFail})
				require.NoError(t, err)
				res, err := e.Decide(ctx, exitInput(1))
				require.NoError(t, err)
				assert.False(t, res.Fallback)
				assert.Equal(t, "call 1", res.Decision.Reason)
				require.NoError(t, e.Close(ctx))
				return e, logs
			}
			_, logs := open()
			assert.Empty(t, logs.String())
			files := cacheFiles(t, cache)
			require.NotEmpty(t, files, "the first open fills the cache")
			for _, f := range files {
				spoil(t, f)
			}
			_, logs = open()
			assert.Contains(t, logs.String(), "compilation cache failed and was cleared")
			assert.Contains(t, logs.String(), "cache="+cache)
			_, logs = open()
			assert.Empty(t, logs.String(), "the next process finds a clean cache")
			assert.NotEmpty(t, cacheFiles(t, cache), "and fills it again")
		})
	}
}

func TestCompilationCacheUnusable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	log, logs := newLogger()
	e, err := policy.Open(ctx, policy.Options{Module: module(t, "modules", "counter"), CacheDir: filepath.Join(file, "cache"), Logger: log, OnError: policy.OnErrorFail})
	require.NoError(t, err)
	defer e.Close(ctx)
	res, err := e.Decide(ctx, exitInput(1))
	require.NoError(t, err)
	assert.False(t, res.Fallback)
	assert.Contains(t, logs.String(), "compilation cache unusable; compiling without it")
}
