package productfruits

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// errWriterGone is what a call on a handler's writer gets once its
// request is over.
var errWriterGone = errors.New("productfruits: write after the request ended")

// writerHandle is the ResponseWriter a handler gets. With injection it
// leads to the pooled injecting writer, for the length of the handler
// only; without, straight to the writer beneath, rw, with a look at the
// headers before they go (a page that placed a user's snippet itself
// leaves private). Every call holds mu, so a call racing the handler's
// return (a goroutine the handler left writing) never meets a writer
// half way through being finished or handed to another request.
//
// Some frameworks write after the handler returned: echo.WrapMiddleware
// writes the error page of a handler's error then, a 401 or a 404. When
// the handler left the response unwritten, such calls go to rw, as they
// would without the middleware, while the request lives; otherwise, and
// once the request's context is done, they get errWriterGone.
type writerHandle struct {
	mu    sync.Mutex
	w     *injectWriter // nil without injection, and once the handler returned
	rw    http.ResponseWriter
	r     *http.Request
	live  bool          // calls may reach rw (while w is nil)
	wrote bool          // a call went to rw
	st    *requestState // the request whose headers to check before they go; nil once checked
}

// open readies h for a handler's calls; w is the injecting writer, or nil.
// st, when set, asks for the headers' check (see protect).
func (h *writerHandle) open(rw http.ResponseWriter, r *http.Request, w *injectWriter, st *requestState) {
	h.w, h.rw, h.r, h.live, h.wrote, h.st = w, rw, r, true, false, st
}

// close ends the handler's part: finish runs under the lock and reports
// whether later calls may still reach rw.
func (h *writerHandle) close(finish func() bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = finish()
	h.w = nil
}

// reachable reports whether a call may go to rw now. Called with mu held.
func (h *writerHandle) reachable() bool {
	return h.live && h.r.Context().Err() == nil
}

// protect checks the headers once, before the first call that may send
// them. Called with mu held.
func (h *writerHandle) protect() {
	h.wrote = true
	if st := h.st; st != nil {
		h.st = nil
		st.keepPrivate(h.rw.Header(), st.placedUser())
	}
}

// hijackHandle is the writerHandle of a response whose writer beneath
// can hand its connection over: only then is Hijack offered, so that a
// WebSocket library under http.TimeoutHandler, say, answers a clean error
// instead of switching protocols it cannot.
type hijackHandle struct{ *writerHandle }

// served returns h as the handler gets it: with Hijack when the writer
// beneath has it (itself or through Unwrap, as http.ResponseController
// looks).
func (h *writerHandle) served() http.ResponseWriter {
	if canHijack(h.rw) {
		return hijackHandle{h}
	}
	return h
}

func canHijack(w http.ResponseWriter) bool {
	for w != nil {
		switch t := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
	return false
}

// Compile-time checks that the wrapper keeps the powers handlers and
// http.ResponseController look for.
var (
	_ http.ResponseWriter                       = (*writerHandle)(nil)
	_ http.Flusher                              = (*writerHandle)(nil)
	_ http.Hijacker                             = hijackHandle{}
	_ io.ReaderFrom                             = (*writerHandle)(nil)
	_ interface{ FlushError() error }           = (*writerHandle)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*writerHandle)(nil)
)

// Header returns the header map of the writer beneath itself, so the
// snippet's nonce and the handler's headers are read where the handler
// wrote them; a throwaway one once the request is over.
func (h *writerHandle) Header() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w != nil || h.reachable() {
		return h.rw.Header()
	}
	return http.Header{}
}

// WriteHeader sends or holds the status; see injectWriter.writeHeader.
func (h *writerHandle) WriteHeader(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.w != nil:
		h.w.writeHeader(code)
	case h.reachable():
		h.protect()
		h.rw.WriteHeader(code)
	}
}

// Write writes the page; see injectWriter.write.
func (h *writerHandle) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.w != nil:
		return h.w.write(p)
	case h.reachable():
		h.protect()
		return h.rw.Write(p)
	}
	return 0, errWriterGone
}

// Flush flushes what may be sent; see injectWriter.flush.
func (h *writerHandle) Flush() { _ = h.FlushError() }

// FlushError flushes what may be sent; see injectWriter.flush.
func (h *writerHandle) FlushError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.w != nil:
		return h.w.flush()
	case h.reachable():
		h.protect()
		return http.NewResponseController(h.rw).Flush()
	}
	return errWriterGone
}

// Hijack hands the connection over; see injectWriter.hijack.
func (h hijackHandle) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.w != nil:
		return h.w.hijack()
	case h.reachable():
		h.wrote = true
		return http.NewResponseController(h.rw).Hijack()
	}
	return nil, nil, errWriterGone
}

// ReadFrom copies src into the page; see injectWriter.readFrom.
func (h *writerHandle) ReadFrom(src io.Reader) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.w != nil:
		return h.w.readFrom(src)
	case h.reachable():
		h.protect()
		return io.Copy(h.rw, src)
	}
	return 0, errWriterGone
}

// Unwrap returns the underlying writer, for http.ResponseController; nil
// once the request is over.
func (h *writerHandle) Unwrap() http.ResponseWriter {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil && !h.reachable() {
		return nil
	}
	return h.rw
}
