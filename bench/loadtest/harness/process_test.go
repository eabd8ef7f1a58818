package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary, re-executed by a test, play a part
// instead of running the tests (see TestMain): "serve" is the load
// test's server process, "affinity" reports the CPUs it runs on after
// PinSelf, "execself" re-executes itself on the clients' CPUs of the
// pinning in childPlanEnv (ExecSelf) and reports them.
const (
	childEnv     = "HARNESS_TEST_CHILD"
	childPlanEnv = "HARNESS_TEST_PLAN"
)

// The page the test server process serves.
const (
	childPage  = 24 << 10
	childWrite = 4 << 10
)

// childReport is what the affinity and execself children print.
type childReport struct {
	CPUs       []int
	GOMAXPROCS int
	Planned    bool
	Plan       []int
}

func runChild(mode string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	if err := PinSelf(); err != nil {
		return fail(err)
	}
	switch mode {
	case "serve":
		if err := Serve(os.Stdin, os.Stdout, childPage, childWrite); err != nil {
			return fail(err)
		}
		return 0
	case "execself":
		p, ok, err := Planned()
		if err != nil {
			return fail(err)
		}
		if !ok {
			var plan Pinning
			if err := json.Unmarshal([]byte(os.Getenv(childPlanEnv)), &plan); err != nil {
				return fail(err)
			}
			if plan.Method == PinTaskset {
				if plan.taskset, err = exec.LookPath("taskset"); err != nil {
					return fail(err)
				}
			}
			return fail(plan.ExecSelf()) // returns only on failure
		}
		cpus, err := AllowedCPUs()
		if err != nil {
			return fail(err)
		}
		_ = json.NewEncoder(os.Stdout).Encode(childReport{CPUs: cpus, GOMAXPROCS: runtime.GOMAXPROCS(0), Planned: true, Plan: p.Clients})
		return 0
	case "affinity":
		cpus, err := AllowedCPUs()
		if err != nil {
			return fail(err)
		}
		_ = json.NewEncoder(os.Stdout).Encode(childReport{CPUs: cpus, GOMAXPROCS: runtime.GOMAXPROCS(0)})
		return 0
	}
	return fail(fmt.Errorf("unknown %s %q", childEnv, mode))
}

// startChild starts the test binary as a server process, not pinned.
func startChild(t *testing.T) *Remote {
	t.Helper()
	cmd := Pinning{}.Command(nil, os.Args[0], "-test.run=^$")
	cmd.Env = append(cmd.Env, childEnv+"=serve")
	r, err := StartRemote(cmd)
	require.NoError(t, err)
	return r
}

// TestLoadRemote is the short version of `go -C bench run ./loadtest`:
// the server in a process of its own, the bare app, context mode and
// injection, concurrent keep-alive clients each with its own user and
// connection, over HTTP/1.1 and h2c, every response checked. Each client
// makes a fixed number of requests, so a busy machine makes the run
// slower, never smaller; and it asserts only what load cannot change:
// no errors, no cross-talk, every response in the protocol asked for
// (an error otherwise), the server's counters read. Throughput, latency
// and CPU figures are the program's to report.
func TestLoadRemote(t *testing.T) {
	remote := startChild(t)
	defer func() { assert.NoError(t, remote.Close(), "server process") }()
	const clients, rounds = 6, 2
	perClient := 24
	if testing.Short() {
		perClient = 8
	}
	for _, proto := range []string{HTTP1, H2C} {
		t.Run(proto, func(t *testing.T) {
			rep, err := Load(context.Background(), LoadConfig{URL: remote.URL, Stats: remote.Stats,
				Doc: NewDoc(childPage, childWrite), Protocol: proto, Clients: clients, Requests: perClient, Rounds: rounds})
			require.NoError(t, err)
			require.Len(t, rep.Results, 3)
			assert.Equal(t, remote.PID(), rep.Server.PID, "stats from the server process")
			assert.GreaterOrEqual(t, rep.Conns, int64(clients), "a connection per client at least")
			for _, r := range rep.Results {
				t.Logf("%s %-7s %4d requests %6.0f req/s p50 %v p99 %v, server CPU %v/request",
					proto, r.Variant, r.Requests, r.RPS(), r.P50, r.P99, r.CPUPerRequest())
				assert.Zero(t, r.Errors, "%s: first error: %s", r.Variant, r.FirstErr)
				assert.Zero(t, r.CrossTalk, "%s: first error: %s", r.Variant, r.FirstErr)
				assert.Equal(t, int64(clients*rounds*perClient), r.Requests, "%s: responses", r.Variant)
				assert.Positive(t, r.Pages, "%s: pages checked whole", r.Variant)
				assert.Positive(t, r.ServerCPU, "%s: server CPU time", r.Variant)
			}
		})
	}
}
