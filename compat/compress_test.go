package compat

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/CAFxX/httpcompression"
	"github.com/NYTimes/gziphandler"
	"github.com/andybalholm/brotli"
	gingzip "github.com/gin-contrib/gzip"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/gorilla/handlers"
	"github.com/klauspost/compress/gzhttp"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { gin.SetMode(gin.TestMode) }

// largePage is above every compressor's minimum size.
var largePage = htmlPage(4096)

// compressPages serves smallPage at /small and largePage at /large.
func compressPages() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/small", htmlHandler(smallPage))
	mux.Handle("/large", htmlHandler(largePage))
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App", "api")
		_, _ = io.WriteString(w, apiBody)
	})
	return mux
}

// apiBody is a JSON answer above every compressor's minimum size.
var apiBody = `{"items":[` + strings.Repeat(`{"name":"item","tags":["a","b","c"]},`, 60) + `{}]}`

// apiIntact asserts that the JSON answer goes out as the app wrote it.
func apiIntact(t *testing.T, srv *httptest.Server, enc string) {
	t.Helper()
	t.Run(enc+"/api", func(t *testing.T) {
		for range 3 {
			r := get(t, srv.URL+"/api", req{user: testUser, encoding: enc})
			intact(t, r, http.StatusOK, http.Header{"Content-Type": {"application/json"}, "X-App": {"api"}}, []byte(apiBody))
		}
	})
}

// compressor is one compression middleware, wired around the Middleware
// (outside) or inside it.
type compressor struct {
	name      string
	encodings []string // the Accept-Encodings it answers
	minSize   int      // below it the page goes out uncompressed; 0: it has none
	outside   func(pf *productfruits.Middleware, page http.Handler) http.Handler
	inside    func(pf *productfruits.Middleware, page http.Handler) http.Handler
}

func compressors(t *testing.T) []compressor {
	cafxx, err := httpcompression.DefaultAdapter()
	require.NoError(t, err)
	chiCompress := func() func(http.Handler) http.Handler {
		c := chimw.NewCompressor(5)
		c.SetEncoder("br", func(w io.Writer, level int) io.Writer { return brotli.NewWriterLevel(w, level) })
		return c.Handler
	}
	echoApp := func(outer, inner echo.MiddlewareFunc, page http.Handler) http.Handler {
		e := echo.New()
		e.Use(outer, inner)
		e.Any("/*", echo.WrapHandler(page))
		return e
	}
	ginGzip := func() gin.HandlerFunc { return gingzip.Gzip(gingzip.DefaultCompression) }
	return []compressor{
		{
			name: "gorilla/handlers.CompressHandler", encodings: []string{"gzip"},
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return handlers.CompressHandler(pf.Handler(page))
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return pf.Handler(handlers.CompressHandler(page))
			},
		},
		{
			name: "gzhttp", encodings: []string{"gzip", "zstd"}, minSize: gzhttp.DefaultMinSize,
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return gzhttp.GzipHandler(pf.Handler(page))
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return pf.Handler(gzhttp.GzipHandler(page))
			},
		},
		{
			name: "gziphandler", encodings: []string{"gzip"}, minSize: gziphandler.DefaultMinSize,
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return gziphandler.GzipHandler(pf.Handler(page))
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return pf.Handler(gziphandler.GzipHandler(page))
			},
		},
		{
			name: "httpcompression", encodings: []string{"gzip", "br", "zstd"}, minSize: httpcompression.DefaultMinSize,
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return cafxx(pf.Handler(page))
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return pf.Handler(cafxx(page))
			},
		},
		{
			name: "chi.Compress", encodings: []string{"gzip", "br"},
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				r := chi.NewRouter()
				r.Use(chiCompress(), pf.Handler)
				r.Handle("/*", page)
				return r
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				r := chi.NewRouter()
				r.Use(pf.Handler, chiCompress())
				r.Handle("/*", page)
				return r
			},
		},
		{
			name: "echo.Gzip", encodings: []string{"gzip"},
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return echoApp(echomw.Gzip(), echo.WrapMiddleware(pf.Handler), page)
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				return echoApp(echo.WrapMiddleware(pf.Handler), echomw.Gzip(), page)
			},
		},
		{
			// Outside: Gzip is the engine's first middleware, ours the
			// second through the adapter. Inside: the engine, with Gzip,
			// wrapped by ours.
			name: "gin-contrib/gzip", encodings: []string{"gzip"},
			outside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				r := gin.New()
				r.Use(ginGzip(), wrapMiddleware(pf.Handler))
				r.Any("/*path", gin.WrapH(page))
				return r
			},
			inside: func(pf *productfruits.Middleware, page http.Handler) http.Handler {
				r := gin.New()
				r.Use(ginGzip())
				r.Any("/*path", gin.WrapH(page))
				return pf.Handler(r)
			},
		},
	}
}

// TestCompressorOutside: the compressor wraps the Middleware, which sees
// the page uncompressed: every page gets the snippet once, decodes fine,
// and the URLs it carries work through the compressor.
func TestCompressorOutside(t *testing.T) {
	for _, c := range compressors(t) {
		t.Run(c.name+"/outside", func(t *testing.T) {
			pf, _ := newPF(t)
			srv := serve(t, c.outside(pf, compressPages()))
			for _, enc := range c.encodings {
				apiIntact(t, srv, enc)
				for _, p := range []struct{ path, page string }{{"/small", smallPage}, {"/large", largePage}} {
					t.Run(enc+p.path, func(t *testing.T) {
						for range 3 {
							r := get(t, srv.URL+p.path, req{user: testUser, encoding: enc})
							require.Equal(t, http.StatusOK, r.resp.StatusCode, "%s", r.body)
							if p.page == largePage {
								assert.Equal(t, enc, r.resp.Header.Get("Content-Encoding"), "the compressor compressed the page")
							}
							snippetOnce(t, r.body, testUser)
							assert.Equal(t, p.page, withoutSnippet(r.body), "the page around the snippet")
							reachable(t, r.url, r.body, testUser, enc)
						}
					})
				}
			}
		})
	}
}

// TestCompressorInside: the Middleware wraps the compressor and sees a
// compressed page, which it must pass on untouched, and say once why the
// page has no snippet; a page below the compressor's minimum size goes out
// uncompressed and gets the snippet.
func TestCompressorInside(t *testing.T) {
	for _, c := range compressors(t) {
		t.Run(c.name+"/inside", func(t *testing.T) {
			pf, logs := newPF(t)
			srv := serve(t, c.inside(pf, compressPages()))
			for _, enc := range c.encodings {
				apiIntact(t, srv, enc)
				t.Run(enc+"/large", func(t *testing.T) {
					for range 3 {
						r := get(t, srv.URL+"/large", req{user: testUser, encoding: enc})
						require.Equal(t, http.StatusOK, r.resp.StatusCode)
						assert.Equal(t, enc, r.resp.Header.Get("Content-Encoding"), "served compressed")
						assert.Equal(t, largePage, string(r.body), "decodes to exactly what the handler wrote")
					}
				})
			}
			warning := warnedOnce(t, logs, "compress")
			if warning != "" {
				assert.Regexp(t, `(?i)outside|before|wrap|order`, warning, "the warning names the fix")
			}
			if c.minSize == 0 {
				return
			}
			for _, enc := range c.encodings {
				t.Run(enc+"/small", func(t *testing.T) {
					r := get(t, srv.URL+"/small", req{user: testUser, encoding: enc})
					require.Equal(t, http.StatusOK, r.resp.StatusCode)
					assert.Empty(t, r.resp.Header.Get("Content-Encoding"), "below the minimum size")
					snippetOnce(t, r.body, testUser)
					assert.Equal(t, smallPage, withoutSnippet(r.body))
					reachable(t, r.url, r.body, testUser, enc)
				})
			}
		})
	}
}
