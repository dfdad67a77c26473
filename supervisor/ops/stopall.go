package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hermes-supervisor/hermes-supervisor/s6"
	"github.com/hermes-supervisor/hermes-supervisor/supervisor/slot"
)

// DefaultStopBudget bounds StopAll: a gateway's stop_grace (10 s by
// default) plus the slot's timeout-kill margin.
const DefaultStopBudget = 15 * time.Second

// StopAll is the container stop's step: every gateway slot in the scan
// directory is taken down at once (s6-svc -d: s6-supervise sends SIGTERM to
// its "supervisor run", which makes its shutdown decision durable, then
// signals its gateway), and StopAll waits until every one is down and its
// finish has run, at most budget. It is what s6-overlay's cont-finish.d
// step (s6/overlay/cont-finish.d/50-hermes-gateways) does, for
// "supervisor init". It returns the slots it stopped; the error names
// those still up when the budget ran out.
//
// It is not an operator's stop: no marker is written, so every gateway
// decides a plain signal, as at any container stop (the default policy
// persists running: each comes back at the next boot).
func (o *Ops) StopAll(ctx context.Context, budget time.Duration) ([]string, error) {
	scandir := o.Config.Scandir
	ents, err := os.ReadDir(scandir)
	if err != nil {
		return nil, fmt.Errorf("read scan directory %s: %w", scandir, err)
	}
	var dirs []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), slot.Prefix) {
			continue
		}
		dir := filepath.Join(scandir, e.Name())
		if fi, err := os.Stat(filepath.Join(dir, "supervise", "control")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			continue // never supervised
		}
		dirs = append(dirs, dir)
	}
	// Every slot at once: each s6-svc is a process, and the supervisors
	// decide in parallel only if they are told in parallel.
	var mu sync.Mutex
	var slots []string
	var wg sync.WaitGroup
	for _, dir := range dirs {
		wg.Go(func() {
			if err := o.Tools.Control(ctx, dir, s6.Down, 0); err == nil { // else its supervisor is gone
				mu.Lock()
				slots = append(slots, dir)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Strings(slots)
	err = o.Tools.WaitAll(ctx, slots, 'D', budget)
	if errors.Is(err, s6.ErrTimeout) {
		var late []string
		for _, dir := range slots {
			if st, serr := o.Tools.Status(ctx, dir); serr != nil || st.Up {
				late = append(late, filepath.Base(dir))
			}
		}
		return slots, fmt.Errorf("still up after %s: %s", budget, strings.Join(late, ", "))
	}
	return slots, err
}
