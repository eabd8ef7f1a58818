package harness

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakWait bounds how long goroutines get to end after a test: closed
// connections and returning handlers are quick, but goleak's own retries
// (about half a second) are not enough on a busy machine. Only a goroutine
// that is really stuck outlives this.
const leakWait = 30 * time.Second

// TestMain fails the package's tests when any goroutine outlives them: a
// handler stuck on a client that went away, a server or transport left
// open, a writer waiting on a request that ended.
// A test binary that a test started as a child plays its part instead
// (runChild).
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	code := m.Run()
	if code == 0 {
		if err := settled(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// settled waits up to leakWait for the goroutines that opts do not
// ignore to end, and returns goleak's report of those that did not.
func settled(opts ...goleak.Option) error {
	deadline := time.Now().Add(leakWait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
