package build

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
)

// template is the policy Scaffold writes. template/main.go is compiled and
// vetted with the rest of the repository, so the scaffold cannot rot.
//
//go:embed template
var template embed.FS

// sdkDir is where a scaffold keeps its copy of the SDK; its go.mod points
// the module path there with a replace directive.
const sdkDir = ".hermes-sdk"

const sdkGoMod = "module github.com/hermes-supervisor/hermes-supervisor\n\ngo 1.24\n"

// Scaffold writes a new Go policy into dir: main.go (deciding like the
// default policy), fixtures/policy.toml (scenarios that pass as written),
// go.mod, and .hermes-sdk/ holding the SDK sources of this binary, so that
// the policy builds offline. dir may exist but must be empty (ErrNotEmpty).
func Scaffold(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("build: scaffold: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("build: scaffold: %s: %w", dir, ErrNotEmpty)
	}
	files := map[string][]byte{filepath.Join(sdkDir, "go.mod"): []byte(sdkGoMod)}
	err = fs.WalkDir(template, "template", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := template.ReadFile(p)
		name := strings.TrimSuffix(strings.TrimPrefix(p, "template/"), ".tmpl")
		files[filepath.FromSlash(name)] = b
		return err
	})
	if err != nil {
		return fmt.Errorf("build: scaffold: %w", err)
	}
	err = fs.WalkDir(hostabi.Source, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := hostabi.Source.ReadFile(p)
		files[filepath.Join(sdkDir, "hostabi", filepath.FromSlash(p))] = b
		return err
	})
	if err != nil {
		return fmt.Errorf("build: scaffold: %w", err)
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("build: scaffold: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("build: scaffold: %w", err)
		}
	}
	return nil
}
