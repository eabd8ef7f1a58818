package compat

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/require"
)

// TestGin: the Middleware on a Gin engine, whole or for one route group
// through the adapter docs/frameworks.md tells users to copy; the page handlers
// write with c.Data, as Gin apps do.
func TestGin(t *testing.T) {
	page := htmlPage(2048)
	handler := func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(page)) }
	tests := []struct {
		name  string
		app   func(pf *productfruits.Middleware) http.Handler
		paths []string
	}{
		{
			name: "gin/engine",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := gin.New()
				r.GET("/app/page", handler)
				return pf.Handler(r)
			},
			paths: []string{"/app/page"},
		},
		{
			name: "gin/Group",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := gin.New()
				app := r.Group("/app", wrapMiddleware(pf.Handler))
				app.GET("/", handler)
				app.GET("/page", handler)
				return r
			},
			paths: []string{"/app/", "/app/page"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, _ := newPF(t)
			srv := serve(t, tt.app(pf))
			for _, p := range tt.paths {
				r := get(t, srv.URL+p, req{user: testUser})
				require.Equal(t, http.StatusOK, r.resp.StatusCode, "GET %s", p)
				snippetOnce(t, r.body, testUser)
				reachable(t, r.url, r.body, testUser, "")
			}
		})
	}
}

// wrapMiddleware is copied from examples/gin/middleware.go, as docs/frameworks.md
// asks users to copy it.
//
// wrapMiddleware turns net/http middleware into Gin middleware, for a route
// group. The obvious adapter, which runs the middleware around c.Next() and
// nothing more, keeps the request it passes on (c.Request, and so
// productfruits.FromContext) but not the writer: Gin's handlers write to
// c.Writer, Gin's own writer underneath the middleware, so a middleware
// that rewrites the response (Config.Inject) never sees the page. Here
// c.Writer writes through the middleware's writer while the group's
// handlers run.
func wrapMiddleware(m func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		own := c.Writer
		reached := false
		m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			c.Request = r
			through := &responseWriter{ResponseWriter: own, w: w, status: http.StatusOK, size: -1}
			c.Writer = through
			defer func() { c.Writer = own }()
			c.Next()
			// Gin sends a status no handler wrote once its handlers are
			// done; it must reach the middleware, not pass under it.
			through.WriteHeaderNow()
		})).ServeHTTP(own, c.Request)
		if !reached {
			c.Abort() // the middleware answered (its identity endpoint)
		}
	}
}

// responseWriter is gin.ResponseWriter over the middleware's writer, with
// the semantics Gin's handlers rely on: WriteHeader only records the status
// until the first write (c.Status comes before the renderer sets
// Content-Type), and Written, Status and Size describe what the handlers
// wrote.
type responseWriter struct {
	gin.ResponseWriter // Gin's own writer, for CloseNotify and Pusher

	w      http.ResponseWriter // the middleware's writer
	status int
	size   int // -1 until the header is sent
}

var _ gin.ResponseWriter = (*responseWriter)(nil)

func (w *responseWriter) Header() http.Header { return w.w.Header() }

func (w *responseWriter) WriteHeader(code int) {
	if code > 0 && !w.Written() {
		w.status = code
	}
}

func (w *responseWriter) WriteHeaderNow() {
	if !w.Written() {
		w.size = 0
		w.w.WriteHeader(w.status)
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeaderNow()
	n, err := w.w.Write(b)
	w.size += n
	return n, err
}

func (w *responseWriter) WriteString(s string) (int, error) {
	w.WriteHeaderNow()
	n, err := io.WriteString(w.w, s)
	w.size += n
	return n, err
}

func (w *responseWriter) Status() int   { return w.status }
func (w *responseWriter) Size() int     { return w.size }
func (w *responseWriter) Written() bool { return w.size != -1 }

// Flush and Hijack go through the middleware's writer, which must know:
// a flushed page is decided, a hijacked connection is not its to write.
func (w *responseWriter) Flush() {
	w.WriteHeaderNow()
	_ = http.NewResponseController(w.w).Flush()
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.size > 0 {
		return nil, nil, errors.New("gin: response body already written")
	}
	if w.size < 0 {
		w.size = 0
	}
	return http.NewResponseController(w.w).Hijack()
}

// Unwrap lets http.ResponseController reach the middleware's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.w }
