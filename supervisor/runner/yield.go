package runner

import (
	"os"
	"strconv"
	"syscall"
)

// yieldNice is the niceness a stopping supervisor takes once its decision
// is durable.
const yieldNice = 19

// yieldCPU lowers the scheduling priority of every thread of this process
// once the shutdown decision is durable. What remains (forwarding the
// signal, waiting for the gateway, the journal, history and ledger) can
// wait; when a container stops, the other gateways' supervisors are still
// making their decisions durable on the same few cores, and they should
// not queue behind this one's bookkeeping. The gateway keeps its own
// priority: it was started before. Linux applies niceness per thread, so
// each thread is lowered; a failure is harmless and ignored.
func yieldCPU() {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, yieldNice)
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, yieldNice)
		}
	}
}
