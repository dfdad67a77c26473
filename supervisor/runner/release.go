package runner

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// releaseImage hands the pages of this binary's read-only mappings (its
// code and constant data, mapped from the executable) back to the kernel
// once the gateway is ready: a supervisor that has started its gateway
// touches little of its code again, and a page it does need is read back
// from the page cache, which every supervisor shares. What it releases is
// counted in this process's resident set, never in the page cache, so
// twenty idle supervisors no longer each report the binary's few
// megabytes. Writable and anonymous mappings (the heap, the stacks, the
// policy's compiled code) are left alone. A failure changes nothing.
func releaseImage() {
	debug.FreeOSMemory() // and the garbage of starting: config, policy compilation
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		start, end, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(start, 16, 64)
		hi, err2 := strconv.ParseUint(end, 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), syscall.MADV_DONTNEED)
	}
}
