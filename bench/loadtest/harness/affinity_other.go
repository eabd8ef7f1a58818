//go:build !linux

package harness

import (
	"errors"
	"runtime"
)

var errNoAffinity = errors.New("CPU affinity is set here on Linux only, not on " + runtime.GOOS)

// AllowedCPUs lists the CPUs this process may run on; Linux only.
func AllowedCPUs() ([]int, error) { return nil, errNoAffinity }

func setThreadAffinity([]int) error { return errNoAffinity }
