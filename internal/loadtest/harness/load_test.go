package harness

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pfverify/productfruits"
)

// TestLoadNoErrorsNoCrossTalk is the short version of `go run
// ./internal/loadtest`: the bare app, context mode and injection behind a
// real server, concurrent keep-alive clients each with its own username,
// every response checked (page intact, user object the asker's and
// verified). Each client makes a fixed number of requests, so a busy
// machine makes the run slower, never smaller; and it asserts only what
// load cannot change: errors and cross-talk. Throughput, latency and
// connection counts are the program's to report.
func TestLoadNoErrorsNoCrossTalk(t *testing.T) {
	const clients, rounds = 4, 3
	perClient := 30
	if testing.Short() {
		perClient = 10
	}
	rep, err := Load(context.Background(), LoadConfig{Requests: perClient, Rounds: rounds, Concurrency: clients})
	require.NoError(t, err)
	require.Len(t, rep.Results, 3)
	for _, r := range rep.Results {
		t.Logf("%-7s %6d requests %8.0f req/s p50 %v p99 %v", r.Variant, r.Requests, r.RPS(), r.P50, r.P99)
		assert.Zero(t, r.Errors, "%s: first error: %s", r.Variant, r.FirstErr)
		assert.Zero(t, r.CrossTalk, "%s: first error: %s", r.Variant, r.FirstErr)
		assert.Equal(t, int64(clients*rounds*perClient), r.Requests, "%s: responses that passed their checks", r.Variant)
	}
}

// TestRoundCountsFailures makes sure a load round counts what its
// deferred verification rejects: with the wrong secret, every context and
// injected response must count as an error.
func TestRoundCountsFailures(t *testing.T) {
	doc := NewDoc(16<<10, 4<<10)
	srv, err := NewServer(doc)
	require.NoError(t, err)
	defer func() { assert.NoError(t, srv.Close()) }()
	wrong, err := productfruits.NewSigner("another-secret")
	require.NoError(t, err)
	srv.Signer = wrong
	tr := Transport(2)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, v := range []string{Bare, Context, Inject} {
		var tl tally
		round(context.Background(), client, srv, v, 2, budget{n: 20}, &tl, true)
		require.Len(t, tl.lat, 40, "%s: responses that passed the inline check (%s)", v, tl.firstErr)
		want := int64(len(tl.lat))
		if v == Bare {
			want = 0
		}
		assert.Equal(t, want, tl.errors.Load(), "%s: errors (%s)", v, tl.firstErr)
	}
}
