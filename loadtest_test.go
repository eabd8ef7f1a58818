package productfruits_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pfverify/productfruits/internal/loadtest/harness"
)

// TestLoadNoErrorsNoCrossTalk is the short version of `go run
// ./internal/loadtest`: the bare app, context mode and injection behind a
// real server, concurrent keep-alive clients each with its own username,
// every response checked (page intact, user object the asker's and
// verified). It asserts correctness only; the timings are the program's.
func TestLoadNoErrorsNoCrossTalk(t *testing.T) {
	d := 900 * time.Millisecond
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	rep, err := harness.Load(context.Background(), harness.LoadConfig{Duration: d, Rounds: 3})
	require.NoError(t, err)
	require.Len(t, rep.Results, 3)
	for _, r := range rep.Results {
		t.Logf("%-7s %6d requests %8.0f req/s p50 %v p99 %v", r.Variant, r.Requests, r.RPS(), r.P50, r.P99)
		assert.Positive(t, r.Requests, r.Variant)
		assert.Zero(t, r.Errors, "%s: first error: %s", r.Variant, r.FirstErr)
		assert.Zero(t, r.CrossTalk, "%s: first error: %s", r.Variant, r.FirstErr)
	}
	assert.LessOrEqual(t, rep.Conns, int64(rep.Concurrency), "clients should keep their connections alive")
}
