package overlay

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// DockerPath is the PATH a container gets when its image sets none
// (Docker's default for Linux images).
const DockerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Image is the fragment built on the base rootfs: one layer directory (what
// the fragment's steps changed, as an overlayfs upper directory) over the
// base, and the image's configuration.
type Image struct {
	Base       string            // the base rootfs (lowest layer)
	Layer      string            // the fragment's layer
	Env        []string          // the image's ENV, Docker's default PATH first
	EnvMap     map[string]string // the same, by name
	Entrypoint []string          // ENTRYPOINT (exec form)
	Volumes    []string          // VOLUME
	Workdir    string            // WORKDIR, "/" by default
	Log        string            // the build's output (each step, then its output)
}

// Build describes an image: the fragment and where its COPY sources are.
type Build struct {
	Fragment string            // the Dockerfile fragment
	Files    map[string]string // build-context names mapped to host files (bin/supervisor, hermes.toml, ...)
	Context  []string          // directories searched next, in order (the module root last)
	// Before are instructions run before the fragment's, as the image's
	// earlier layers (installing the gateway).
	Before []Instruction
}

var (
	imageMu    sync.Mutex
	imageCache = map[string]*Image{}
	workOnce   sync.Once
	workDir    string
	workErr    error
)

// WorkDir is this test binary's scratch directory (image layers); Cleanup
// removes it.
func WorkDir() (string, error) {
	workOnce.Do(func() {
		workDir, workErr = os.MkdirTemp("", "hermes-overlay-")
		if workErr == nil {
			workErr = os.Chmod(workDir, 0o755)
		}
	})
	return workDir, workErr
}

// Cleanup removes the images built by this test binary (call from TestMain).
func Cleanup() {
	if workDir != "" {
		os.RemoveAll(workDir)
	}
}

// BuildImage runs b's steps on the base rootfs of d, once per distinct
// input in this test binary: RUN in a chroot with the ENV so far, ADD of a
// release URL from the dist directory, COPY from the build context, inside
// a private mount namespace over an overlayfs whose upper directory becomes
// the image's layer.
func BuildImage(d Dist, b Build) (*Image, error) {
	ins, text, err := readFragment(b.Fragment)
	if err != nil {
		return nil, err
	}
	ins = append(append([]Instruction(nil), b.Before...), ins...)
	key, err := imageKey(d, b, text)
	if err != nil {
		return nil, err
	}
	imageMu.Lock()
	defer imageMu.Unlock()
	if im := imageCache[key]; im != nil {
		return im, nil
	}
	work, err := WorkDir()
	if err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	dir := filepath.Join(work, "image-"+key[:12])
	os.RemoveAll(dir)
	for _, sub := range []string{"layer", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("overlay: %w", err)
		}
	}
	im := &Image{Base: d.Rootfs, Layer: filepath.Join(dir, "layer"), Workdir: "/", EnvMap: map[string]string{"PATH": DockerPath}}
	script, err := im.script(d, b, ins, filepath.Join(dir, "work"), filepath.Join(dir, "merged"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "build.sh"), []byte(script), 0o755); err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "/bin/sh", filepath.Join(dir, "build.sh"))
	out, err := cmd.CombinedOutput()
	im.Log = string(out)
	if err != nil {
		return nil, fmt.Errorf("overlay: building the image from %s failed (%v):\n%s", b.Fragment, err, lastLines(string(out), 30))
	}
	im.Env = []string{"PATH=" + im.EnvMap["PATH"]}
	names := make([]string, 0, len(im.EnvMap))
	for k := range im.EnvMap {
		if k != "PATH" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		im.Env = append(im.Env, k+"="+im.EnvMap[k])
	}
	imageCache[key] = im
	return im, nil
}

// imageKey identifies an image by everything that goes into it.
func imageKey(d Dist, b Build, fragment string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", d.Dir, d.Rootfs, fragment)
	for _, in := range b.Before {
		fmt.Fprintf(h, "%s\x00", in)
	}
	names := make([]string, 0, len(b.Files))
	for k := range b.Files {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f, err := os.Open(b.Files[k])
		if err != nil {
			return "", fmt.Errorf("overlay: build context %s: %w", k, err)
		}
		fmt.Fprintf(h, "%s\x00", k)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("overlay: build context %s: %w", k, err)
		}
	}
	for _, c := range b.Context {
		fmt.Fprintf(h, "%s\x00", c)
		// the files a COPY takes from a context directory are hashed by
		// the COPY itself below
	}
	ins, err := ParseFragment(fragment)
	if err != nil {
		return "", err
	}
	for _, in := range ins {
		if in.Cmd != "COPY" && in.Cmd != "ADD" {
			continue
		}
		srcs, _, _ := copyArgs(in.Args)
		for _, s := range srcs {
			if p, err := resolve(b, s); err == nil {
				hashTree(h, p)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashTree(h io.Writer, root string) {
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s\x00%o\x00", p, fi.Mode())
		if fi.Mode().IsRegular() {
			if f, err := os.Open(p); err == nil {
				io.Copy(h, f)
				f.Close()
			}
		}
		return nil
	})
}

// copyArgs splits COPY/ADD arguments into sources, destination and flags.
func copyArgs(args string) (srcs []string, dest string, flags map[string]string) {
	flags = map[string]string{}
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		flags[k] = v
		f = f[1:]
	}
	if len(f) < 2 {
		return nil, "", flags
	}
	return f[:len(f)-1], f[len(f)-1], flags
}

// resolve finds a COPY source in the build context.
func resolve(b Build, src string) (string, error) {
	if p, ok := b.Files[src]; ok {
		return p, nil
	}
	for _, c := range b.Context {
		p := filepath.Join(c, filepath.FromSlash(src))
		if _, err := os.Lstat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("overlay: COPY source %q is in no build context (%v, %v)", src, keys(b.Files), b.Context)
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// sq quotes s for a POSIX shell.
func sq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// script turns the instructions into one shell script run in a private
// mount namespace. It also fills the image's configuration.
func (im *Image) script(d Dist, b Build, ins []Instruction, work, merged string) (string, error) {
	var s strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&s, format+"\n", a...) }
	w("set -eu")
	w("M=%s", sq(merged))
	w("mount -t overlay overlay -o %s \"$M\"", sq("lowerdir="+im.Base+",upperdir="+im.Layer+",workdir="+work))
	w(`mount -t proc proc "$M/proc"`)
	w(`mount --rbind /dev "$M/dev"`)
	vars := map[string]string{}
	target := func(dest, base string) string {
		// a destination ending in / or naming an existing directory receives base
		if strings.HasSuffix(dest, "/") {
			return fmt.Sprintf(`"$M"%s`, sq(path.Join(dest, base)))
		}
		return fmt.Sprintf(`"$(if [ -d "$M"%s ]; then echo "$M"%s; else echo "$M"%s; fi)"`, sq(dest), sq(path.Join(dest, base)), sq(dest))
	}
	for i, in := range ins {
		w("echo %s", sq(fmt.Sprintf("== step %d/%d: %s", i+1, len(ins), in)))
		switch in.Cmd {
		case "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			if _, set := vars[k]; !set {
				vars[k] = v
			}
		case "ENV":
			pairs, err := parseEnv(in.Args, vars)
			if err != nil {
				return "", fmt.Errorf("%w (line %d of %s)", err, in.Line, b.Fragment)
			}
			for _, p := range pairs {
				im.EnvMap[p[0]] = p[1]
				vars[p[0]] = p[1]
			}
		case "RUN":
			if strings.HasPrefix(in.Args, "[") {
				return "", fmt.Errorf("overlay: line %d of %s: exec-form RUN is not supported by the test builder", in.Line, b.Fragment)
			}
			env := []string{"env", "-i"}
			for _, k := range sortedKeys(vars) {
				if _, isEnv := im.EnvMap[k]; !isEnv {
					env = append(env, k+"="+vars[k]) // build arguments reach RUN as variables
				}
			}
			for _, k := range sortedKeys(im.EnvMap) {
				env = append(env, k+"="+im.EnvMap[k])
			}
			var q []string
			for _, e := range env {
				q = append(q, sq(e))
			}
			w(`(cd "$M" && chroot "$M" sh -c 'cd "$1" && shift && exec "$@"' sh %s %s /bin/sh -c %s)`,
				sq(im.Workdir), strings.Join(q, " "), sq(in.Args))
		case "ADD", "COPY":
			srcs, dest, flags := copyArgs(expand(in.Args, vars))
			if len(srcs) == 0 {
				return "", fmt.Errorf("overlay: line %d of %s: %s needs a source and a destination", in.Line, b.Fragment, in.Cmd)
			}
			if !strings.HasPrefix(dest, "/") {
				dest = path.Join(im.Workdir, dest)
			}
			if len(srcs) > 1 && !strings.HasSuffix(dest, "/") {
				dest += "/"
			}
			for _, src := range srcs {
				if u, err := url.Parse(src); err == nil && in.Cmd == "ADD" && (u.Scheme == "https" || u.Scheme == "http") {
					// A release download: taken from the dist directory.
					base := path.Base(u.Path)
					from := filepath.Join(d.Dir, base)
					if _, err := os.Stat(from); err != nil {
						return "", fmt.Errorf("overlay: line %d of %s: ADD %s: no %s in %s", in.Line, b.Fragment, src, base, d.Dir)
					}
					w(`t=%s; mkdir -p "$(dirname "$t")"; cp %s "$t"; chmod 600 "$t"`, target(dest, base), sq(from))
					continue
				}
				from, err := resolve(b, src)
				if err != nil {
					return "", fmt.Errorf("%w (line %d of %s)", err, in.Line, b.Fragment)
				}
				if fi, err := os.Stat(from); err == nil && fi.IsDir() {
					w(`t="$M"%s; mkdir -p "$t"; cp -dR --preserve=mode,timestamps %s/. "$t"/; chown -R 0:0 "$t"`, sq(dest), sq(from))
				} else {
					w(`t=%s; mkdir -p "$(dirname "$t")"; cp -d --preserve=mode,timestamps %s "$t"; chown -h 0:0 "$t"`, target(dest, path.Base(src)), sq(from))
				}
				if own := flags["chown"]; own != "" {
					w(`chroot "$M" chown -R %s "${t#"$M"}"`, sq(own))
				}
				if mode := flags["chmod"]; mode != "" {
					w(`chmod %s "$t"`, sq(mode))
				}
			}
		case "WORKDIR":
			im.Workdir = path.Join(im.Workdir, in.Args)
			w(`mkdir -p "$M"%s`, sq(im.Workdir))
		case "VOLUME":
			if strings.HasPrefix(in.Args, "[") {
				v, err := execForm(in.Args)
				if err != nil {
					return "", err
				}
				im.Volumes = append(im.Volumes, v...)
			} else {
				im.Volumes = append(im.Volumes, strings.Fields(in.Args)...)
			}
		case "ENTRYPOINT":
			argv, err := execForm(in.Args)
			if err != nil {
				return "", fmt.Errorf("%w (line %d of %s)", err, in.Line, b.Fragment)
			}
			im.Entrypoint = argv
		case "LABEL", "EXPOSE", "CMD", "STOPSIGNAL", "HEALTHCHECK", "USER", "SHELL", "ONBUILD":
			if in.Cmd == "USER" || in.Cmd == "SHELL" || in.Cmd == "CMD" || in.Cmd == "STOPSIGNAL" {
				return "", fmt.Errorf("overlay: line %d of %s: %s is not supported by the test builder", in.Line, b.Fragment, in.Cmd)
			}
		default:
			return "", fmt.Errorf("overlay: line %d of %s: unknown instruction %s", in.Line, b.Fragment, in.Cmd)
		}
	}
	if len(im.Entrypoint) == 0 {
		return "", fmt.Errorf("overlay: %s has no ENTRYPOINT", b.Fragment)
	}
	w("echo '== done'")
	return s.String(), nil
}

func sortedKeys(m map[string]string) []string {
	k := keys(m)
	return k
}
