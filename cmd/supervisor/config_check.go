package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/hostabi"
	"github.com/hermes-supervisor/hermes-supervisor/policy"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/config"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/engine"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/show"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// configCheckOptions are the options of "config check".
type configCheckOptions struct {
	IO     *ioStreams
	Check  func(ctx context.Context) configReport
	Format string
}

func newCmdConfigCheck(f *factory, runF func(context.Context, *configCheckOptions) error) *cobra.Command {
	opts := &configCheckOptions{IO: f.IO, Check: func(ctx context.Context) configReport { return f.CheckConfig(ctx, f.openFresh) }}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check hermes.toml, every profile.toml and every policy module they name; exit 1 on any problem",
		Long: `Check the whole configuration the way boot and the gateways' supervisors
will use it, and list every problem, not just the first:

  - hermes.toml: unknown keys (with the nearest known one), wrong types,
    values out of range;
  - every profile's profile.toml: the same, and what a profile may not set
    or raise;
  - every policy module configured (once per module): it is read, its
    sha256 pin checked, then compiled and its ABI version, exports and
    metadata checked, as the host will when it loads it. A refused module
    means the native fallback makes every decision of its profiles (or,
    with policy.on_error = "fail", that their gateways do not start);
  - the [policy.params] each module is given, against the parameters the
    module declares (name, type, default; "supervisor policy inspect"
    lists them): a key it does not declare (with the nearest one it does)
    or a value of another type is a warning: the module ignores it.

Exit status: 0 no problem (warnings do not count); 1 a problem was found
(each is listed).`,
		Example: `  supervisor config check
  supervisor --config /etc/hermes/hermes.toml config check --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runConfigCheck(cmd.Context(), opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, formatTable, formatJSON)
	return cmd
}

// configProblem is one problem "config check" found.
type configProblem struct {
	Profile string `json:"profile,omitempty"` // the one profile it concerns; "" for hermes.toml, or several (the message names them)
	File    string `json:"file,omitempty"`    // the file at fault, when one is
	Key     string `json:"key,omitempty"`     // the key at fault, when one is
	Message string `json:"message"`
}

// checkedModule is one policy module the configuration names.
type checkedModule struct {
	Module   string   `json:"module"`             // a path, or embedded:default
	Identity string   `json:"identity,omitempty"` // name@digest8, when it loaded
	Profiles []string `json:"profiles"`           // whose effective configuration names it
	Problem  string   `json:"problem,omitempty"`  // why the host refuses it
}

// configReport is what "config check" found.
type configReport struct {
	File     string          `json:"file"` // the hermes.toml read; "" = built-in defaults
	Profiles []string        `json:"profiles"`
	Modules  []checkedModule `json:"modules"`
	Problems []configProblem `json:"problems"`
	// Warnings are what does no harm but is likely a mistake: a
	// [policy.params] key the module does not read. They do not change
	// the exit status.
	Warnings []configProblem `json:"warnings"`
}

// openedModule is who a module is: its identity and its metadata.
type openedModule struct {
	Identity string
	Metadata hostabi.Metadata
}

// moduleOpener opens the policy of configuration c as the supervisor
// would, and says who it is or why the host refuses it.
type moduleOpener func(ctx context.Context, c config.Config) (openedModule, error)

// CheckConfig checks the configuration (see "config check"): hermes.toml,
// every profile.toml, and each distinct policy setting opened with open.
func (f *factory) CheckConfig(ctx context.Context, open moduleOpener) configReport {
	c, ps := config.Check(f.flags.config, config.Overrides{Home: f.flags.home, Scandir: f.flags.scandir})
	rep := configReport{File: c.File, Profiles: []string{}, Modules: []checkedModule{}, Problems: []configProblem{}, Warnings: []configProblem{}}
	for _, p := range ps {
		rep.Problems = append(rep.Problems, configProblem{File: p.File, Key: p.Key, Message: p.Message})
	}
	if err := checkHome(c); err != nil {
		rep.Problems = append(rep.Problems, configProblem{Key: "home", Message: err.Error()})
		return rep
	}
	if err := volume.Confine(c.Home); err != nil {
		rep.Problems = append(rep.Problems, configProblem{Key: "home", Message: err.Error()})
		return rep
	}
	names, problems, err := profile.List(c.Home)
	if err != nil {
		rep.Problems = append(rep.Problems, configProblem{Message: err.Error()})
	}
	for _, p := range problems {
		rep.Problems = append(rep.Problems, configProblem{Message: p.Error()})
	}
	rep.Profiles = names
	type setting struct {
		c        config.Config
		index    int
		profiles []config.Config // each profile's effective configuration, in Profiles order
	}
	seen := map[string]*setting{}
	for _, n := range names {
		p, err := profile.For(c.Home, n)
		if err != nil {
			continue
		}
		pc, pps := c.CheckProfile(p.Config)
		for _, pp := range pps {
			rep.Problems = append(rep.Problems, configProblem{Profile: n, File: pp.File, Key: pp.Key, Message: pp.Message})
		}
		key := moduleKey(pc)
		s, ok := seen[key]
		if !ok {
			s = &setting{c: pc, index: len(rep.Modules)}
			seen[key] = s
			mod := pc.Policy.Module
			if mod == "" {
				mod = policy.EmbeddedSource
			}
			rep.Modules = append(rep.Modules, checkedModule{Module: mod})
		}
		rep.Modules[s.index].Profiles = append(rep.Modules[s.index].Profiles, n)
		s.profiles = append(s.profiles, pc)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return seen[keys[i]].index < seen[keys[j]].index })
	for _, k := range keys {
		s := seen[k]
		m := &rep.Modules[s.index]
		opened, refused := open(ctx, s.c)
		m.Identity = opened.Identity
		if refused == nil {
			rep.Warnings = append(rep.Warnings, paramWarnings(m, opened, s.profiles)...)
			continue
		}
		m.Problem = plainModuleError(refused)
		then := "the native fallback makes every decision of " + profilesPhrase(m.Profiles)
		if s.c.Policy.OnError == config.OnErrorFail {
			then = "the gateways of " + profilesPhrase(m.Profiles) + " do not start (policy.on_error = \"fail\")"
			if len(m.Profiles) == 1 {
				then = "the gateway of " + profilesPhrase(m.Profiles) + " does not start (policy.on_error = \"fail\")"
			}
		}
		one := ""
		if len(m.Profiles) == 1 {
			one = m.Profiles[0]
		}
		rep.Problems = append(rep.Problems, configProblem{
			Profile: one, File: s.c.Policy.Module, Key: "policy.module",
			Message: fmt.Sprintf("policy module %s is refused: %s; %s", m.Module, plainModuleError(refused), then),
		})
	}
	return rep
}

// paramWarnings checks the [policy.params] each profile of module m is
// given against the parameters the module declares: a key it does not
// declare, or a value of another type, is a warning (the module ignores
// it). Only parameters written in a file are checked (the built-in
// multiplex_profiles = false is not), each once per file; nothing is
// checked against a module that does not declare its parameters.
func paramWarnings(m *checkedModule, opened openedModule, profiles []config.Config) []configProblem {
	meta := opened.Metadata
	if !meta.DeclaresParams {
		return nil
	}
	var out []configProblem
	seen := map[string]bool{}
	for i, pc := range profiles {
		file := pc.Sources["policy.params"]
		if file == "" || file == "default" || seen[file] {
			continue
		}
		seen[file] = true
		params, err := hostabi.ParamsFromMap(pc.Policy.Params)
		if err != nil {
			continue // the configuration check said so
		}
		profile := ""
		if filepath.Base(file) == "profile.toml" {
			profile = m.Profiles[i]
		}
		for _, p := range params {
			key := "policy.params." + p.Key
			spec, ok := meta.Param(p.Key)
			var msg string
			switch {
			case !ok:
				msg = fmt.Sprintf("%s in %s: policy module %s reads no parameter %q, so it has no effect", key, file, opened.Identity, p.Key)
				if near := config.NearestName(p.Key, paramKeys(meta)); near != "" {
					msg += fmt.Sprintf("; did you mean %q?", near)
				}
				msg += " (" + declaredPhrase(meta) + ")"
			default:
				err := spec.Check(p)
				if err == nil {
					continue
				}
				msg = fmt.Sprintf("%s in %s: policy module %s reads it as a %s: %s; it uses its default, %s",
					key, file, opened.Identity, spec.Type, err, paramDefault(spec))
			}
			out = append(out, configProblem{Profile: profile, File: file, Key: key, Message: msg})
		}
	}
	return out
}

// declaredPhrase lists the parameters meta declares.
func declaredPhrase(meta hostabi.Metadata) string {
	if len(meta.Params) == 0 {
		return "it reads none"
	}
	keys := make([]string, len(meta.Params))
	for i, p := range meta.Params {
		keys[i] = p.Key
	}
	return "it reads " + strings.Join(keys, ", ")
}

// moduleKey tells apart the policy settings that load differently.
func moduleKey(c config.Config) string {
	p := c.Policy
	return fmt.Sprintf("%s|%s|%d|%s|%s", p.Module, p.SHA256, p.MemoryLimit, p.Timeout, p.OnError)
}

func profilesPhrase(names []string) string {
	if len(names) == 1 {
		return "profile " + names[0]
	}
	return "profiles " + strings.Join(names, ", ")
}

// openFresh opens the policy of c in a fresh engine, as "config check"
// does: refusing (never falling back from) a module the host would not
// load, with the compilation cache only when it exists already (a check
// creates nothing on the volume).
func (f *factory) openFresh(ctx context.Context, c config.Config) (openedModule, error) {
	mod := c.Policy.Module
	if mod == "" {
		mod = policy.EmbeddedSource
	}
	f.IO.Progress("loading policy module %s (compiling it, unless cached)", mod)
	o, err := engine.Options(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return openedModule{}, err
	}
	o.OnError = policy.OnErrorFail
	if fi, err := os.Stat(o.CacheDir); err != nil || !fi.IsDir() {
		o.CacheDir = ""
	}
	eng, err := policy.Open(ctx, o)
	if err != nil {
		return openedModule{}, err
	}
	defer eng.Close(ctx)
	return openedModule{Identity: eng.Identity(), Metadata: eng.Metadata()}, nil
}

// plainModuleError is why a module is refused, without the wrapping the
// policy host adds for its logs ("policy: policy module failed: PATH: ").
func plainModuleError(err error) string {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		for _, inner := range multi.Unwrap() {
			if inner != policy.ErrModule {
				return inner.Error()
			}
		}
	}
	return err.Error()
}

func runConfigCheck(ctx context.Context, opts *configCheckOptions) error {
	rep := opts.Check(ctx)
	if opts.Format == formatJSON {
		if err := writeJSON(opts.IO.Out, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(opts.IO.Out, problemLine(p))
		}
		for _, p := range rep.Warnings {
			fmt.Fprintln(opts.IO.Out, "warning: "+problemLine(p))
		}
		file := rep.File
		if file == "" {
			file = "built-in defaults (no hermes.toml)"
		}
		warnings := ""
		if n := len(rep.Warnings); n > 0 {
			warnings = fmt.Sprintf(" (%d warning%s)", n, plural(n))
		}
		fmt.Fprintf(opts.IO.Out, "%s: %d problem%s%s in %s, %d profile%s, %d policy module%s\n",
			verdictWord(len(rep.Problems) == 0), len(rep.Problems), plural(len(rep.Problems)), warnings, file,
			len(rep.Profiles), plural(len(rep.Profiles)), len(rep.Modules), plural(len(rep.Modules)))
	}
	if len(rep.Problems) > 0 {
		return exitWith(exitFailure, nil)
	}
	return nil
}

// problemLine is a problem in one inert line (show.Text: it may quote a
// directory name of the volume), naming the profile when the message does
// not already.
func problemLine(p configProblem) string {
	if p.Profile != "" && !strings.Contains(p.Message, "profile") && !strings.Contains(p.Message, p.Profile) {
		return show.Text("profile " + p.Profile + ": " + p.Message)
	}
	return show.Text(p.Message)
}

func verdictWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "PROBLEMS"
}

// paramKeys are the keys of the parameters meta declares.
func paramKeys(meta hostabi.Metadata) []string {
	keys := make([]string, len(meta.Params))
	for i, s := range meta.Params {
		keys[i] = s.Key
	}
	return keys
}
