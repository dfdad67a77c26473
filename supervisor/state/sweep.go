package state

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/profile"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/volume"
)

// Sweep removes a profile's runtime files at container boot, as upstream's
// reconciler does: gateway.pid and processes.json, the gateway's (a pid
// from before the restart names another process now; the supervisor never
// writes either). It also removes temporary files left by a writer killed
// mid-write, and the planned-stop marker unless it is well-formed, within
// its TTL and still names a live process with the recorded start time.
// gateway.lock is left: the gateway takes its flock, and a boot must not
// race a gateway for it. It returns the paths it removed; errors name the
// file and do not stop the sweep of the others.
func Sweep(p profile.Paths, now time.Time, ttl time.Duration) ([]string, error) {
	var removed []string
	var errs []error
	rm := func(path string) {
		if err := removeFile(path); err != nil {
			errs = append(errs, err)
			return
		}
		removed = append(removed, path)
	}
	// One listing of the profile directory tells which runtime files are
	// there; a directory that cannot be listed is asked file by file.
	top, err := volume.ReadDir(p.Dir)
	listed := err == nil
	has := func(path string) bool {
		if !listed || filepath.Dir(path) != p.Dir {
			_, err := volume.Lstat(path)
			return !errors.Is(err, os.ErrNotExist)
		}
		name := filepath.Base(path)
		i := sort.Search(len(top), func(i int) bool { return top[i].Name() >= name })
		return i < len(top) && top[i].Name() == name
	}
	if has(p.Pid) {
		rm(p.Pid)
	}
	if has(p.Processes) {
		rm(p.Processes)
	}
	for _, dir := range []string{p.Dir, p.StateDir} {
		ents := top
		if dir != p.Dir {
			ents, _ = volume.ReadDir(dir)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") && e.Type().IsRegular() {
				rm(filepath.Join(dir, e.Name())) // left by a writer killed mid-write
			}
		}
	}
	if !has(p.Marker) {
		return removed, errors.Join(errs...)
	}
	m, j, _ := ReadMarker(p.Marker)
	if j != MarkerAbsent {
		stale := j == MarkerMalformed
		if !stale {
			live, err := ProcOf(m.TargetPid)
			stale = err != nil || Judge(m, live, now, ttl) != MarkerHonoured
		}
		if stale {
			rm(p.Marker)
		}
	}
	return removed, errors.Join(errs...)
}
