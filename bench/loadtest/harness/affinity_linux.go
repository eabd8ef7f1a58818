package harness

import (
	"fmt"
	"syscall"
	"unsafe"
)

// cpuMask is a kernel cpu_set_t of 1024 CPUs.
type cpuMask [1024 / 64]uint64

// AllowedCPUs lists the CPUs the calling thread may run on
// (sched_getaffinity), in increasing order. A process's threads share
// the mask it was started with, unless one of them changed its own.
func AllowedCPUs() ([]int, error) {
	var m cpuMask
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	if e != 0 {
		return nil, fmt.Errorf("sched_getaffinity: %w", e)
	}
	var cpus []int
	for i, w := range m {
		for b := range 64 {
			if w&(1<<b) != 0 {
				cpus = append(cpus, i*64+b)
			}
		}
	}
	return cpus, nil
}

// setThreadAffinity pins the calling OS thread to cpus
// (sched_setaffinity on thread 0, itself): only that thread, so the
// caller locks itself to it and execs, and the new program starts with
// one thread on cpus, which all its threads inherit.
func setThreadAffinity(cpus []int) error {
	var m cpuMask
	for _, c := range cpus {
		if c < 0 || c >= len(m)*64 {
			return fmt.Errorf("CPU %d out of range", c)
		}
		m[c/64] |= 1 << (c % 64)
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	if e != 0 {
		return fmt.Errorf("sched_setaffinity %v: %w", cpus, e)
	}
	return nil
}
