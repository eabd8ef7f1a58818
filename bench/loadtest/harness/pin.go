package harness

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Pinning methods: util-linux's taskset, or the sched_setaffinity system
// call made here, then exec, which is what taskset does.
const (
	PinTaskset = "taskset"
	PinSyscall = "sched_setaffinity"
)

// Environment variables of the pinning: pinEnv asks a starting process
// to pin itself (PinSelf), planEnv carries the plan into the load
// process re-executed on its own CPUs (ExecSelf, Planned).
const (
	pinEnv  = "PFLOADTEST_PIN_CPUS"
	planEnv = "PFLOADTEST_PINNING"
)

// Pinning keeps the load test's server and its clients on different
// CPUs: the server on the first half of the CPUs this process may use,
// the clients on the rest (CPU 0 and CPU 1 on a 2-core machine), each
// process with GOMAXPROCS set to its number of CPUs.
type Pinning struct {
	// Method is PinTaskset or PinSyscall; empty when not pinned, and
	// Reason says why.
	Method          string
	Reason          string
	Server, Clients []int
	taskset         string // taskset's path
}

// PlanPinning decides the pinning for mode: "auto" (taskset when it is
// on PATH, else the system call), "taskset", "syscall" or "off". Auto
// gives up, with a Reason, where pinning is impossible: off Linux, or
// with fewer than 2 CPUs allowed.
func PlanPinning(mode string) (Pinning, error) {
	switch mode {
	case "off":
		return Pinning{Reason: "-pin off"}, nil
	case "auto", "taskset", "syscall":
	default:
		return Pinning{}, fmt.Errorf("-pin %q: want auto, taskset, syscall or off", mode)
	}
	cpus, err := AllowedCPUs()
	if err != nil {
		if mode != "auto" {
			return Pinning{}, err
		}
		return Pinning{Reason: err.Error()}, nil
	}
	if len(cpus) < 2 {
		if mode != "auto" {
			return Pinning{}, fmt.Errorf("pinning needs 2 CPUs, this process may use %v", cpus)
		}
		return Pinning{Reason: fmt.Sprintf("only CPU %v allowed", cpus)}, nil
	}
	half := len(cpus) / 2
	p := Pinning{Server: cpus[:half], Clients: cpus[half:]}
	path, lookErr := exec.LookPath("taskset")
	switch {
	case mode == "syscall" || mode == "auto" && lookErr != nil:
		p.Method = PinSyscall
	case lookErr != nil:
		return Pinning{}, fmt.Errorf("-pin taskset: %w", lookErr)
	default:
		p.Method, p.taskset = PinTaskset, path
	}
	return p, nil
}

// Pinned reports whether the processes are pinned.
func (p Pinning) Pinned() bool { return p.Method != "" }

// String says how the processes are pinned, for the published figures.
func (p Pinning) String() string {
	switch p.Method {
	case PinTaskset:
		return "pinned with taskset (util-linux)"
	case PinSyscall:
		return "pinned with sched_setaffinity (syscall.RawSyscall, then exec)"
	}
	return "not pinned (" + p.Reason + "): server and clients share every CPU"
}

// CPUList formats cpus as taskset -c reads them: "0,1".
func CPUList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for f := range strings.SplitSeq(s, ",") {
		c, err := strconv.Atoi(f)
		if err != nil || c < 0 {
			return nil, fmt.Errorf("CPU list %q", s)
		}
		cpus = append(cpus, c)
	}
	return cpus, nil
}

// Command returns the command that runs name with args on cpus (on
// whatever the scheduler picks when p is not pinned) with GOMAXPROCS
// matching. With PinSyscall, the program must call PinSelf first thing.
func (p Pinning) Command(cpus []int, name string, args ...string) *exec.Cmd {
	env := environ(planEnv, pinEnv, "GOMAXPROCS")
	switch p.Method {
	case PinTaskset:
		cmd := exec.Command(p.taskset, append([]string{"-c", CPUList(cpus), name}, args...)...)
		cmd.Env = append(env, "GOMAXPROCS="+strconv.Itoa(len(cpus)))
		return cmd
	case PinSyscall:
		cmd := exec.Command(name, args...)
		cmd.Env = append(env, pinEnv+"="+CPUList(cpus), "GOMAXPROCS="+strconv.Itoa(len(cpus)))
		return cmd
	}
	cmd := exec.Command(name, args...)
	cmd.Env = env
	return cmd
}

// ExecSelf replaces this process by itself, same arguments, running on
// p.Clients with GOMAXPROCS matching; Planned then returns p. It returns
// only on failure.
func (p Pinning) ExecSelf() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	env := append(environ(planEnv, pinEnv, "GOMAXPROCS"),
		planEnv+"="+p.Method+";"+CPUList(p.Server)+";"+CPUList(p.Clients),
		"GOMAXPROCS="+strconv.Itoa(len(p.Clients)))
	switch p.Method {
	case PinTaskset:
		argv := append([]string{"taskset", "-c", CPUList(p.Clients), exe}, os.Args[1:]...)
		return syscall.Exec(p.taskset, argv, env)
	case PinSyscall:
		return pinAndExec(p.Clients, exe, env)
	}
	return fmt.Errorf("not pinned: %s", p.Reason)
}

// Planned returns the pinning ExecSelf started this process with.
func Planned() (Pinning, bool, error) {
	v, ok := os.LookupEnv(planEnv)
	if !ok {
		return Pinning{}, false, nil
	}
	f := strings.Split(v, ";")
	if len(f) != 3 || f[0] != PinTaskset && f[0] != PinSyscall {
		return Pinning{}, false, fmt.Errorf("%s=%q", planEnv, v)
	}
	p := Pinning{Method: f[0]}
	var err error
	if p.Server, err = parseCPUList(f[1]); err != nil {
		return Pinning{}, false, err
	}
	if p.Clients, err = parseCPUList(f[2]); err != nil {
		return Pinning{}, false, err
	}
	if p.Method == PinTaskset {
		if p.taskset, err = exec.LookPath("taskset"); err != nil {
			return Pinning{}, false, err
		}
	}
	return p, true, nil
}

// PinSelf, called first thing in main, pins a process that Command
// started with PinSyscall: it sets its thread's affinity and execs
// itself, so the program starts again with every thread on those CPUs.
// It returns nil at once when there is nothing to do, and only on
// failure otherwise.
func PinSelf() error {
	v, ok := os.LookupEnv(pinEnv)
	if !ok {
		return nil
	}
	cpus, err := parseCPUList(v)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return pinAndExec(cpus, exe, environ(pinEnv))
}

// pinAndExec pins the calling thread to cpus and execs exe with this
// process's arguments: the affinity is the thread's own, and exec keeps
// it for the new program's first thread, which all later ones inherit.
func pinAndExec(cpus []int, exe string, env []string) error {
	// Never unlocked: should exec fail, the pinned thread must not go
	// back to the scheduler, and the goroutine ends with it.
	runtime.LockOSThread()
	if err := setThreadAffinity(cpus); err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, env)
}

// environ is this process's environment without the variables drop.
func environ(drop ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(drop, k)
	})
}
