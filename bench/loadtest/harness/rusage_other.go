//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package harness

import (
	"fmt"
	"runtime"
	"time"
)

// ProcessCPU is the user+system CPU time this process has used so far;
// measured only where getrusage is.
func ProcessCPU() (time.Duration, error) {
	return 0, fmt.Errorf("process CPU time: no getrusage on %s", runtime.GOOS)
}
