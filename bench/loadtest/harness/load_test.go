package harness

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pfverify/productfruits"
)

// inProcess starts a Server for a small doc in this process, its answers
// passed through wrap when set, for the tests of what the checks catch.
func inProcess(t *testing.T, wrap func(http.Handler) http.Handler) *Server {
	t.Helper()
	srv, err := newServer(NewDoc(16<<10, 4<<10), wrap)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	return srv
}

// TestLoadCountsFailures makes sure what the checks after a round reject
// is counted, response by response: with the wrong secret, every context
// and injected response is an error, and no bare one.
func TestLoadCountsFailures(t *testing.T) {
	srv := inProcess(t, nil)
	wrong, err := productfruits.NewSigner("another-secret")
	require.NoError(t, err)
	rep, err := Load(context.Background(), LoadConfig{URL: srv.URL, Doc: srv.Doc, Signer: wrong,
		Clients: 2, Requests: 20, Rounds: 2})
	require.NoError(t, err)
	for _, r := range rep.Results {
		require.Equal(t, int64(80), r.Requests, "%s: responses received", r.Variant)
		want := r.Requests
		if r.Variant == Bare {
			want = 0
		}
		assert.Equal(t, want, r.Errors, "%s: errors (%s)", r.Variant, r.FirstErr)
		assert.Zero(t, r.CrossTalk, r.Variant)
	}
}

// TestLoadCatchesCrossTalk serves every client another client's page: each
// context and injected response must count as cross-talk.
func TestLoadCatchesCrossTalk(t *testing.T) {
	srv := inProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := r.Header.Get(UserHeader); u != "" {
				r.Header.Set(UserHeader, strings.Replace(u, "user-", "user-1", 1))
			}
			next.ServeHTTP(w, r)
		})
	})
	rep, err := Load(context.Background(), LoadConfig{URL: srv.URL, Doc: srv.Doc, Clients: 3, Requests: 10})
	require.NoError(t, err)
	for _, r := range rep.Results {
		want := r.Requests
		if r.Variant == Bare {
			want = 0
		}
		assert.Equal(t, want, r.CrossTalk, "%s: cross-talk (%s)", r.Variant, r.FirstErr)
		assert.Zero(t, r.Errors, "%s: %s", r.Variant, r.FirstErr)
	}
}

// TestLoadCatchesAlteredPages appends a comment to one page in five,
// never the first of a client (always checked whole): those the clients
// did not keep whole must be caught by their length, each altered page
// counted once.
func TestLoadCatchesAlteredPages(t *testing.T) {
	var n, altered atomic.Int64
	srv := inProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			if r.URL.Path != StatsPath && n.Add(1)%5 == 0 {
				altered.Add(1)
				_, _ = w.Write([]byte("<!-- x -->"))
			}
		})
	})
	rep, err := Load(context.Background(), LoadConfig{URL: srv.URL, Doc: srv.Doc, Clients: 1, Requests: 40})
	require.NoError(t, err)
	var errs int64
	for _, r := range rep.Results {
		assert.Zero(t, r.CrossTalk, r.Variant)
		errs += r.Errors
	}
	assert.Equal(t, int64(24), altered.Load())
	assert.Equal(t, altered.Load(), errs, "errors over all variants")
}

// TestOrder checks that rounds change the variants' order so that none
// always runs first or after the same one: over six rounds of three, each
// of the six orders once.
func TestOrder(t *testing.T) {
	vs := []string{Bare, Context, Inject}
	seen := map[string]bool{}
	after := map[[2]string]int{}
	for r := range 6 {
		o := Order(r, vs)
		require.ElementsMatch(t, vs, o)
		seen[strings.Join(o, ",")] = true
		for i := 1; i < len(o); i++ {
			after[[2]string{o[i-1], o[i]}]++
		}
	}
	assert.Len(t, seen, 6, "distinct orders")
	require.Len(t, after, 6, "ordered pairs")
	for pair, n := range after {
		assert.Equal(t, 2, n, "%v", pair)
	}
	assert.Equal(t, vs, Order(0, vs))
	assert.True(t, slices.Equal(Order(6, vs), Order(0, vs)))
}

func TestMedianRatio(t *testing.T) {
	assert.InDelta(t, 2.0, MedianRatio([]float64{2, 4, 60}, []float64{1, 2, 3}), 1e-9)
	assert.InDelta(t, 1.5, MedianRatio([]float64{1, 2}, []float64{1, 1}), 1e-9)
	assert.Zero(t, MedianRatio(nil, nil))
}
