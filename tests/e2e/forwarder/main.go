// Command forwarder is the reference of the container-stop benchmark: the
// least a wrapper of a gateway must do, in Go. It starts its arguments as a
// child in a process group of its own, waits for SIGTERM, forwards it to
// the group and waits for the child. No policy, no state, no files.
package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.Exit(111)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-sigs:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		<-done
	case <-done:
	}
}
