package harness

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childCPUs runs the test binary in mode with cmd's pinning and returns
// its report.
func childCPUs(t *testing.T, cmd *exec.Cmd, mode string, env ...string) childReport {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(append(cmd.Env, childEnv+"="+mode), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	var rep childReport
	require.NoError(t, json.Unmarshal(out, &rep), "%s", out)
	return rep
}

// TestPinning starts the test binary pinned to one CPU, by each method,
// and checks that it runs there with GOMAXPROCS 1, then that ExecSelf
// moves a process onto the clients' CPUs.
func TestPinning(t *testing.T) {
	cpus, err := AllowedCPUs()
	if runtime.GOOS != "linux" {
		require.Error(t, err)
		t.Skip("CPU affinity is Linux-only")
	}
	require.NoError(t, err)
	last := cpus[len(cpus)-1]
	methods := []Pinning{{Method: PinSyscall, Server: cpus[:1], Clients: []int{last}}}
	if path, err := exec.LookPath("taskset"); err == nil {
		methods = append(methods, Pinning{Method: PinTaskset, Server: cpus[:1], Clients: []int{last}, taskset: path})
	} else {
		t.Log("no taskset: only the system call is tested")
	}
	for _, p := range methods {
		t.Run(p.Method, func(t *testing.T) {
			rep := childCPUs(t, p.Command([]int{last}, os.Args[0], "-test.run=^$"), "affinity")
			assert.Equal(t, []int{last}, rep.CPUs)
			assert.Equal(t, 1, rep.GOMAXPROCS)

			plan, err := json.Marshal(p)
			require.NoError(t, err)
			rep = childCPUs(t, exec.Command(os.Args[0], "-test.run=^$"), "execself", childPlanEnv+"="+string(plan))
			assert.True(t, rep.Planned, "Planned after ExecSelf")
			assert.Equal(t, []int{last}, rep.CPUs)
			assert.Equal(t, []int{last}, rep.Plan)
			assert.Equal(t, 1, rep.GOMAXPROCS)
		})
	}
}

func TestPlanPinning(t *testing.T) {
	_, err := PlanPinning("sometimes")
	require.Error(t, err)
	p, err := PlanPinning("off")
	require.NoError(t, err)
	assert.False(t, p.Pinned())
	assert.Contains(t, p.String(), "not pinned")
	p, err = PlanPinning("auto")
	require.NoError(t, err)
	cpus, _ := AllowedCPUs()
	if len(cpus) < 2 {
		assert.False(t, p.Pinned(), p.String())
		return
	}
	require.True(t, p.Pinned(), p.String())
	assert.Equal(t, cpus, append(append([]int{}, p.Server...), p.Clients...))
	assert.NotEmpty(t, p.Server)
	assert.NotEmpty(t, p.Clients)
}
