package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPUMeter counts the CPU time of this process and of every process it
// starts afterwards (containers included, whatever their PID namespace):
// MeterCPU moves the process into a control group of its own, whose
// accounting the kernel keeps in nanoseconds. Benchmarks read it around a
// step during which this process itself only waits.
type CPUMeter struct {
	dir, parent string
	read        func() (time.Duration, error)
}

// MeterCPU creates the group (cgroup v1 cpuacct, else cgroup v2) and moves
// this process into it. It needs root; the error says what is missing.
func MeterCPU() (*CPUMeter, error) {
	name := fmt.Sprintf("hermes-bench-%d", os.Getpid())
	for _, root := range []string{"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		v1 := fileExists(filepath.Join(root, "cpuacct.usage"))
		v2 := fileExists(filepath.Join(root, "cgroup.controllers"))
		if !v1 && !v2 {
			continue
		}
		m := &CPUMeter{dir: filepath.Join(root, name), parent: root}
		if err := os.Mkdir(m.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cpu meter: %w", err)
		}
		if v1 {
			m.read = func() (time.Duration, error) { return readNanos(filepath.Join(m.dir, "cpuacct.usage")) }
		} else {
			m.read = func() (time.Duration, error) { return readUsageUsec(filepath.Join(m.dir, "cpu.stat")) }
		}
		if err := os.WriteFile(filepath.Join(m.dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			os.Remove(m.dir)
			return nil, fmt.Errorf("cpu meter: join %s: %w", m.dir, err)
		}
		if _, err := m.read(); err != nil {
			m.Close()
			return nil, err
		}
		return m, nil
	}
	return nil, errors.New("cpu meter: no cgroup v1 cpuacct or cgroup v2 hierarchy under /sys/fs/cgroup")
}

// Used is the CPU time the group has used so far.
func (m *CPUMeter) Used() (time.Duration, error) { return m.read() }

// Close moves this process back to the parent group and removes its own
// (once every process started in it has ended).
func (m *CPUMeter) Close() {
	os.WriteFile(filepath.Join(m.parent, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	os.Remove(m.dir)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readNanos(p string) (time.Duration, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("cpu meter: %w", err)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cpu meter: %s: %w", p, err)
	}
	return time.Duration(n), nil
}

func readUsageUsec(p string) (time.Duration, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("cpu meter: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "usage_usec "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cpu meter: %s: %w", p, err)
			}
			return time.Duration(n) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("cpu meter: %s has no usage_usec", p)
}
