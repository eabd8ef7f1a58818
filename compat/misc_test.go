package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/cors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCORS: rs/cors outside the Middleware. Its Vary (Origin) and ours
// (Cookie) are merged, and its shared Vary value is not written in place:
// a second page, and a JSON answer after them, carry the same Vary as
// before.
func TestCORS(t *testing.T) {
	const origin = "https://app.example.com"
	t.Run("cors/outside", func(t *testing.T) {
		pf, _ := newPF(t)
		mux := http.NewServeMux()
		mux.Handle("/page", htmlHandler(htmlPage(1024)))
		mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		})
		c := cors.New(cors.Options{AllowedOrigins: []string{origin}, AllowCredentials: true})
		srv := serve(t, c.Handler(pf.Handler(mux)))
		q := req{user: testUser, header: http.Header{"Origin": {origin}}}

		api := get(t, srv.URL+"/api", q)
		intact(t, api, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, []byte(`{"ok":true}`))
		apiVary := api.resp.Header.Values("Vary")
		assert.Contains(t, varyTokens(apiVary), "Origin")

		first := get(t, srv.URL+"/page", q)
		require.Equal(t, http.StatusOK, first.resp.StatusCode)
		snippetOnce(t, first.body, testUser)
		assert.Equal(t, origin, first.resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", first.resp.Header.Get("Access-Control-Allow-Credentials"))
		vary := varyTokens(first.resp.Header.Values("Vary"))
		assert.Contains(t, vary, "Origin", "cors's Vary kept")
		assert.Contains(t, vary, "Cookie", "the Middleware's Vary added")

		for range 3 {
			again := get(t, srv.URL+"/page", q)
			snippetOnce(t, again.body, testUser)
			assert.Equal(t, first.resp.Header.Values("Vary"), again.resp.Header.Values("Vary"), "a later page's Vary")
		}
		after := get(t, srv.URL+"/api", q)
		assert.Equal(t, apiVary, after.resp.Header.Values("Vary"), "cors's shared Vary value written in place")
	})
}

// varyTokens splits Vary header values into their field names.
func varyTokens(values []string) []string {
	var out []string
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				out = append(out, http.CanonicalHeaderKey(tok))
			}
		}
	}
	return out
}

// TestWebSocket: an upgrade under the Middleware works; under
// http.TimeoutHandler, whose writer cannot be hijacked, the client gets an
// HTTP error at once, never a 101 and then silence.
func TestWebSocket(t *testing.T) {
	echoWS := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered with an HTTP error
		}
		defer conn.CloseNow()
		typ, msg, err := conn.Read(r.Context())
		if err != nil {
			return
		}
		_ = conn.Write(r.Context(), typ, msg)
		_ = conn.Close(websocket.StatusNormalClosure, "")
	})
	dial := func(t *testing.T, url string) (*websocket.Conn, *http.Response, error, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		t.Cleanup(cancel)
		h := http.Header{}
		h.Add("Cookie", "user="+testUser)
		start := time.Now()
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPHeader: h})
		return conn, resp, err, time.Since(start)
	}

	t.Run("websocket/direct", func(t *testing.T) {
		pf, _ := newPF(t)
		srv := serve(t, pf.Handler(echoWS))
		conn, resp, err, _ := dial(t, srv.URL+"/ws")
		require.NoError(t, err)
		defer conn.CloseNow()
		assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		require.NoError(t, conn.Write(ctx, websocket.MessageText, []byte("ping")))
		_, msg, err := conn.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ping", string(msg))
		_ = conn.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("websocket/TimeoutHandler", func(t *testing.T) {
		pf, _ := newPF(t)
		srv := serve(t, http.TimeoutHandler(pf.Handler(echoWS), 10*time.Second, "timeout"))
		conn, resp, err, took := dial(t, srv.URL+"/ws")
		if err == nil {
			// The client saw a 101: show what the connection does then.
			defer conn.CloseNow()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			werr := conn.Write(ctx, websocket.MessageText, []byte("ping"))
			_, msg, rerr := conn.Read(ctx)
			require.Failf(t, "the upgrade cannot work under TimeoutHandler",
				"the client got %d and a connection that then answers write: %v, read: %q, %v", resp.StatusCode, werr, msg, rerr)
		}
		assert.False(t, errors.Is(err, context.DeadlineExceeded), "the client hung until its deadline: %v", err)
		assert.Less(t, took, 3*time.Second)
		require.NotNil(t, resp, "no HTTP answer: %v", err)
		assert.GreaterOrEqual(t, resp.StatusCode, 400, "an HTTP error status, got %d", resp.StatusCode)
	})
}

// TestCharset: a page served as text/html without a charset, whose head
// starts with <meta charset="utf-8">, with Czech text in the body.
func TestCharset(t *testing.T) {
	t.Run("meta-charset/no-header-charset", func(t *testing.T) {
		const page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>kůň</title></head>" +
			"<body><p>Žluťoučký kůň úpěl ďábelské ódy.</p></body></html>"
		pf, _ := newPF(t)
		srv := serve(t, pf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, page)
		})))
		for range 3 {
			r := get(t, srv.URL+"/", req{user: testUser})
			require.Equal(t, http.StatusOK, r.resp.StatusCode)
			snippetOnce(t, r.body, testUser)
			assert.Equal(t, page, withoutSnippet(r.body))
			reachable(t, r.url, r.body, testUser, "")
		}
	})
}

// TestLargeHead: a head holding a 300 KiB inline JSON script: either the
// snippet is in the head, or the page goes out as written and the
// Middleware says once that the head was past its look-ahead.
func TestLargeHead(t *testing.T) {
	t.Run("head/300KiB-json", func(t *testing.T) {
		var js strings.Builder
		js.WriteString(`{"items":[`)
		for i := 0; js.Len() < 300<<10; i++ {
			if i > 0 {
				js.WriteByte(',')
			}
			fmt.Fprintf(&js, `{"id":%d,"name":"item %d","tags":["a","b"]}`, i, i)
		}
		js.WriteString(`]}`)
		page := "<!DOCTYPE html><html><head><title>big</title>" +
			`<script type="application/json" id="state">` + js.String() + "</script>" +
			"</head><body><p>app</p></body></html>"
		pf, logs := newPF(t)
		srv := serve(t, pf.Handler(htmlHandler(page)))
		for range 3 {
			r := get(t, srv.URL+"/", req{user: testUser})
			require.Equal(t, http.StatusOK, r.resp.StatusCode)
			assert.Equal(t, page, withoutSnippet(r.body), "the page around the snippet")
			// The snippet goes to the last point known to be in the head:
			// before the large script.
			snippetOnce(t, r.body, testUser)
			reachable(t, r.url, r.body, testUser, "")
		}
		_, all := logs.warnings("")
		assert.Empty(t, all, "fixed, not warned about")
	})
}
