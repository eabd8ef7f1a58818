//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package harness

import (
	"syscall"
	"time"
)

// ProcessCPU is the user+system CPU time this process has used so far.
func ProcessCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
