package productfruits_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them: a
// handler stuck on a client that went away, a server or transport left
// open, a writer waiting on a request that ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
