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

// template is the Go policy Scaffold writes, and the fixtures of both
// scaffolds. template/main.go is compiled and vetted with the rest of the
// repository, so the scaffold cannot rot.
//
//go:embed template
var template embed.FS

// asTemplate is the AssemblyScript policy ScaffoldAssemblyScript writes;
// a test compiles it.
//
//go:embed astemplate
var asTemplate embed.FS

// sdkDir is where a scaffold keeps its copy of the SDK; a Go scaffold's
// go.mod points the module path there with a replace directive, an
// AssemblyScript scaffold imports it by relative path.
const sdkDir = ".hermes-sdk"

const sdkGoMod = "module github.com/hermes-supervisor/hermes-supervisor\n\ngo 1.24\n"

// templateName is the policy name the templates carry; a scaffold names
// its policy after its directory instead, when that is a valid name.
const templateName = "my-policy"

// Files of the AssemblyScript kit ScaffoldAssemblyScript takes (the
// policies package embeds them).
const (
	KitSDK  = "sdk/assemblyscript/index.ts"
	KitLock = "package-lock.json"
)

// Scaffold writes a new Go policy into dir: main.go (deciding like the
// default policy), fixtures/policy.toml (scenarios that pass as written),
// go.mod, and .hermes-sdk/ holding the SDK sources of this binary, so that
// the policy builds offline. dir may exist but must be empty (ErrNotEmpty).
func Scaffold(dir string) error {
	if err := checkEmpty(dir); err != nil {
		return err
	}
	files := map[string][]byte{filepath.Join(sdkDir, "go.mod"): []byte(sdkGoMod)}
	if err := addTemplate(files, template, "template"); err != nil {
		return err
	}
	err := fs.WalkDir(hostabi.Source, ".", func(p string, d fs.DirEntry, err error) error {
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
	return writeFiles(dir, files)
}

// ScaffoldAssemblyScript writes a new AssemblyScript policy into dir:
// policy.ts (deciding like the default policy), fixtures/policy.toml
// (scenarios that pass as written), .hermes-sdk/assemblyscript/index.ts
// (the SDK of this binary, imported by relative path), and package.json
// with package-lock.json pinning the compiler, so that "npm ci --prefix dir"
// installs exactly the compiler the shipped modules are built with. kit
// holds KitSDK and KitLock. dir may exist but must be empty (ErrNotEmpty).
func ScaffoldAssemblyScript(dir string, kit fs.FS) error {
	if err := checkEmpty(dir); err != nil {
		return err
	}
	sdk, err := fs.ReadFile(kit, KitSDK)
	if err != nil {
		return fmt.Errorf("build: scaffold: %w", err)
	}
	lock, err := fs.ReadFile(kit, KitLock)
	if err != nil {
		return fmt.Errorf("build: scaffold: %w", err)
	}
	files := map[string][]byte{
		filepath.Join(sdkDir, "assemblyscript", "index.ts"): sdk,
		"package.json":      []byte(packageJSON),
		"package-lock.json": []byte(strings.ReplaceAll(string(lock), `"name": "hermes-policies"`, `"name": "hermes-policy"`)),
		".gitignore":        []byte("node_modules/\n*.wasm.tmp\n"),
	}
	tmpl := map[string][]byte{}
	if err := addTemplate(tmpl, template, "template"); err != nil {
		return err
	}
	files[filepath.Join("fixtures", "policy.toml")] = tmpl[filepath.Join("fixtures", "policy.toml")]
	if err := addTemplate(files, asTemplate, "astemplate"); err != nil {
		return err
	}
	return writeFiles(dir, files)
}

// packageJSON pins the compiler an AssemblyScript scaffold is built with.
const packageJSON = `{
  "name": "hermes-policy",
  "private": true,
  "description": "A hermes-supervisor policy in AssemblyScript: npm ci installs the pinned compiler, supervisor policy build compiles it.",
  "devDependencies": {
    "assemblyscript": "` + AssemblyScriptVersion + `"
  }
}
`

func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("build: scaffold: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("build: scaffold: %s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// addTemplate adds the files under root of fsys to files, without root and
// without a .tmpl suffix.
func addTemplate(files map[string][]byte, fsys embed.FS, root string) error {
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fsys.ReadFile(p)
		name := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		files[filepath.FromSlash(name)] = b
		return err
	})
	if err != nil {
		return fmt.Errorf("build: scaffold: %w", err)
	}
	return nil
}

// writeFiles writes files into dir, naming the policy after dir where the
// templates name it.
func writeFiles(dir string, files map[string][]byte) error {
	name := templateName
	if abs, err := filepath.Abs(dir); err == nil && validPolicyName(filepath.Base(abs)) {
		name = filepath.Base(abs)
	}
	for rel, b := range files {
		if rel == "main.go" || rel == "policy.ts" {
			b = []byte(strings.Replace(string(b), `"`+templateName+`"`, `"`+name+`"`, 1))
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("build: scaffold: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("build: scaffold: %w", err)
		}
	}
	return nil
}

// validPolicyName: what the metadata accepts as a name, [a-z0-9._-]{1,64}.
func validPolicyName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
