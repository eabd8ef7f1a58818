package productfruits

import (
	"bufio"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/pfverify/productfruits/internal/htmlscan"
)

// lookAhead bounds how many bytes of a page are held back while looking for
// the insertion point, and so the memory one response can take; it leaves
// room for heads carrying large inline styles or scripts. A page that needs
// more passes through untouched.
const lookAhead = 256 << 10

// sniffLen is how much of a body net/http's DetectContentType reads, so the
// decision matches the Content-Type net/http would have chosen.
const sniffLen = 512

// maxPooledSnippet keeps a rare snippet with huge props from pinning a
// large buffer in the pool for ever.
const maxPooledSnippet = 64 << 10

// prescanLen is how much of a page without a charset in its Content-Type
// browsers read for a <meta charset> (WHATWG HTML §13.2.3.2).
const prescanLen = 1024

// maxCoalesce is the largest write that insert copies to send it on, the
// snippet inside, as one write.
const maxCoalesce = 8 << 10

// readChunk is the ReadFrom buffer size while the insertion point is still
// being looked for: io.Copy's own.
const readChunk = 32 << 10

var writerPool = sync.Pool{New: func() any { return new(injectWriter) }}

// serveInjected runs next with a writer that splices the snippet into the
// HTML page next writes.
func (m *Middleware) serveInjected(rw http.ResponseWriter, r *http.Request, st *requestState, next http.Handler) {
	w := writerPool.Get().(*injectWriter)
	w.reset(rw, m, r, st)
	h := &st.handle
	h.open(rw, r, w, nil)
	// A panicking handler (http.ErrAbortHandler included) leaves the
	// writer half way through a response, and the handler's goroutines
	// may still hold it: it never goes back to the pool. The panic itself
	// keeps propagating to net/http.
	next.ServeHTTP(h.served(), r)
	h.close(w.finish)
	// The handle no longer leads to w (close cleared it under the lock),
	// so nothing the handler left running can reach it.
	w.release()
	writerPool.Put(w)
}

// writerMode is where the writer stands in a response. It starts in
// modeStatus; the final status decides the next mode (decide), and every
// path ends in modePass, or in modeHijacked:
//
//	modeStatus --final status--> modePass, modeScan, modeSniff, modeSniffHead
//	modeScan, modeSniff --insertion point--> modeWait or modePass
//	modeScan, modeSniff --Flush--> modeFlushed (modePass: not sniffed as HTML)
//	modeFlushed --insertion point--> modeFlushedWait or modePass
//	modeWait, modeFlushedWait --prescan window complete, Flush, end--> modePass
//	modeScan, modeSniff, modeFlushed --no insertion point, end--> modePass
//	modeSniffHead --first bytes, Flush, end--> modePass
//	any --Hijack--> modeHijacked
type writerMode uint8

const (
	// modeStatus: no final status yet.
	modeStatus writerMode = iota
	// modeScan: the page is held back and scanned for the insertion
	// point; the headers are held too, since injecting changes them.
	modeScan
	// modeSniff: modeScan for a page without a Content-Type, which gets
	// the snippet only if its first bytes sniff as HTML.
	modeSniff
	// modeSniffHead: a HEAD response without a Content-Type, whose first
	// bytes decide its headers.
	modeSniffHead
	// modeWait: the insertion point is known and the snippet claimed, but
	// the point lies in the bytes a browser prescans for <meta charset>,
	// which are not all written yet.
	modeWait
	// modeFlushed: modeScan after a Flush sent the headers, those of an
	// injected page of unknown length.
	modeFlushed
	// modeFlushedWait: modeWait after a Flush sent the headers.
	modeFlushedWait
	// modePass: decided; every byte goes straight to the writer beneath.
	modePass
	// modeHijacked: the connection belongs to the handler now.
	modeHijacked
)

// holding reports whether the decision is open: the status is known and
// bytes may be held back.
func (m writerMode) holding() bool {
	return m != modeStatus && m != modePass && m != modeHijacked
}

// waiting reports whether the writer waits for the prescan window.
func (m writerMode) waiting() bool { return m == modeWait || m == modeFlushedWait }

// headersSent reports whether the status and headers have gone out.
func (m writerMode) headersSent() bool {
	return m == modeFlushed || m == modeFlushedWait || m == modePass
}

// injectWriter holds a response back until it knows whether and where the
// snippet goes, then splices it in without copying the rest of the page.
// Its methods are the events of its modes; the handler reaches them
// through the handle (handle.go).
type injectWriter struct {
	rw http.ResponseWriter
	m  *Middleware
	r  *http.Request
	st *requestState

	mode   writerMode
	status int // final status the handler chose; 0 until it chose one
	// sniffed is the Content-Type net/http sniffed from the page, for a
	// page served without one.
	sniffed string
	// noCharset: an HTML (not XHTML) page whose Content-Type names no
	// charset.
	noCharset bool

	// held are the bytes scanned but not yet sent: stream offsets
	// bufOff to bufOff+held.Len().
	held   heldBytes
	bufOff int
	sc     htmlscan.Scanner
	snip   []byte
	rbuf   []byte

	// trailers are the declared trailer fields the header did not hold
	// when the handler chose its status: values set later are trailers.
	trailers []string

	// outerEncoding is the Content-Encoding the header held when the
	// request reached the middleware (see decide).
	outerEncoding []string

	// scratch holds the first bytes of the page when the sniffer or the
	// prescan check needs them in one piece; kept with the pooled writer.
	scratch *[prescanLen]byte
}

// reset prepares a pooled writer for the response to r: it zeroes the
// writer, then sets the fields one by one (docs/PERFORMANCE.md, on the
// writer's reset, says why not in one literal).
func (w *injectWriter) reset(rw http.ResponseWriter, m *Middleware, r *http.Request, st *requestState) {
	snip, rbuf, trailers, scratch := w.snip[:0], w.rbuf, w.trailers[:0], w.scratch
	*w = injectWriter{}
	w.rw, w.m, w.r, w.st = rw, m, r, st
	w.outerEncoding = rw.Header()["Content-Encoding"]
	w.snip, w.rbuf, w.trailers, w.scratch = snip, rbuf, trailers, scratch
	w.sc.Reset(m.scriptURL, m.scriptAttr)
}

// release drops everything that belongs to the finished request, so the
// pool pins neither it nor an oversized buffer.
func (w *injectWriter) release() {
	w.held.Reset()
	if cap(w.snip) > maxPooledSnippet {
		w.snip = nil
	}
	// The rest is reset by assignment when the writer is taken again.
	w.rw, w.m, w.r, w.st, w.outerEncoding = nil, nil, nil, nil, nil
}

// writeHeader records the final status and holds it back while the page
// may still need new headers. Interim 1xx responses carry no page and go
// out at once; 101 ends the response like a final status, as in net/http.
func (w *injectWriter) writeHeader(code int) {
	if w.mode != modeStatus {
		// The first status wins, as in net/http, without its log line:
		// the superfluous call may come from any layer of the handler.
		return
	}
	if code < 100 || code > 999 {
		// net/http rejects such a code by panicking in the handler's
		// own call, where its stack names the culprit.
		w.rw.WriteHeader(code)
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.rw.WriteHeader(code)
		return
	}
	w.status = code
	h := w.rw.Header()
	canonicalHeader(h)
	if tr := h["Trailer"]; len(tr) > 0 {
		w.noteTrailers(h, tr)
	}
	act := actPass
	if !w.st.skipped() {
		act = decide(code, h, w.r.Method == http.MethodHead, w.outerEncoding)
	}
	switch act {
	case actScan:
		w.mode = modeScan
	case actScanNoCharset:
		w.mode, w.noCharset = modeScan, true
	case actScanXHTML:
		w.mode = modeScan
		w.sc.SetXML()
	case actSniff:
		w.mode = modeSniff
	case actSniffHead:
		w.mode = modeSniffHead
	case actHeaders:
		w.commitInjected(-1)
		w.mode = modePass
	case actPassCompressed:
		w.m.warnOnce(w.r, causeInnerCompression,
			"an HTML page reached the middleware already compressed, so it goes out without the snippet "+
				"(pages under the compressor's minimum size still get it): put pf.Handler inside your compression "+
				"middleware, so that the compressor wraps it",
			slog.String("content-encoding", strings.Join(h["Content-Encoding"], ", ")))
		_ = w.passThrough(false)
	default:
		_ = w.passThrough(false)
	}
}

func (w *injectWriter) noteTrailers(h http.Header, declared []string) {
	for _, v := range declared {
		for k := range strings.SplitSeq(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if _, ok := h[k]; !ok && k != "" {
				w.trailers = append(w.trailers, k)
			}
		}
	}
}

// writeStatus sends the held status and headers. net/http takes its
// header snapshot in WriteHeader, which here comes later than the
// handler's own call: trailer values set in between must stay out of it,
// so they are hidden for the call and put back for net/http to send at
// the end.
func (w *injectWriter) writeStatus() {
	if len(w.trailers) == 0 {
		w.rw.WriteHeader(w.status)
		return
	}
	w.writeStatusHidingTrailers()
}

// writeStatusHidingTrailers is writeStatus for a response with declared
// trailers.
//
//go:noinline
func (w *injectWriter) writeStatusHidingTrailers() {
	h := w.rw.Header()
	hidden := make(map[string][]string, len(w.trailers))
	for _, k := range w.trailers {
		if v, ok := h[k]; ok {
			hidden[k] = v
			delete(h, k)
		}
	}
	w.rw.WriteHeader(w.status)
	maps.Copy(h, hidden)
}

// write scans p for the insertion point while the decision is open, and
// afterwards hands it straight to the writer beneath.
func (w *injectWriter) write(p []byte) (int, error) {
	if w.mode == modePass {
		return w.rw.Write(p)
	}
	switch w.mode {
	case modeStatus:
		w.writeHeader(http.StatusOK)
		return w.write(p)
	case modeHijacked:
		return 0, http.ErrHijacked
	case modeSniffHead:
		return w.writeHead(p)
	case modeWait, modeFlushedWait:
		// The bytes up to prescanLen decide whether the snippet may go
		// to the insertion point (see insert).
		if w.bufOff+w.held.Len()+len(p) < prescanLen {
			w.held.Append(p)
			return len(p), nil
		}
		return w.insert(p, false)
	}
	q := p
	if rest := lookAhead - w.sc.Offset(); len(q) > rest {
		q = q[:rest]
	}
	switch w.sc.Scan(q) {
	case htmlscan.Insert:
		return w.insert(p, false)
	case htmlscan.More:
		if len(q) == len(p) {
			w.held.Append(p)
			return len(p), nil
		}
		return w.pastLookAhead(p)
	}
	// Not a page to inject.
	return w.passWrite(p, false)
}

// pastLookAhead handles a write that takes the page past the look-ahead
// with the head still open (a large inline state, say): the snippet goes
// to the last point known to be in the head, if it has not been sent.
func (w *injectWriter) pastLookAhead(p []byte) (int, error) {
	if safe := w.sc.LastSafe(); safe > 0 && safe >= w.bufOff && w.sc.UseLastSafe() {
		return w.insert(p, false)
	}
	w.m.warnOnce(w.r, causeLookAhead,
		"a page's head runs past the middleware's 256 KiB look-ahead with no point in it known to take the snippet, "+
			"so it goes out without it: move large inline data out of the head, or place the snippet with TemplateScript",
		slog.Int("look-ahead", lookAhead))
	return w.passWrite(p, false)
}

// writeHead decides a HEAD response's headers from the body's type alone:
// HEAD bodies are normally empty, and whatever a handler writes is dropped
// by net/http anyway, so it is passed on unchanged.
func (w *injectWriter) writeHead(p []byte) (int, error) {
	if w.held.Len()+len(p) < sniffLen {
		w.held.Append(p)
		return len(p), nil
	}
	if err := w.decideHead(p); err != nil {
		return 0, err
	}
	return w.rw.Write(p)
}

// decideHead ends modeSniffHead: the held bytes and then p sniffed as
// HTML give the headers of an injected page.
func (w *injectWriter) decideHead(p []byte) error {
	if !w.sniff(p) {
		return w.passThrough(false)
	}
	w.commitInjected(-1)
	w.mode = modePass
	return w.send(w.held.Len())
}

// sniff reports whether net/http would sniff the page, the held bytes and
// then p, as HTML, and keeps the type it would set.
func (w *injectWriter) sniff(p []byte) bool {
	w.sniffed = sniffedHTML(w.window(p, 0, sniffLen))
	return w.sniffed != ""
}

// passThrough ends the decision without the snippet: the headers go out
// as the handler left them, unless a Flush sent them already, and so do
// the held bytes. claimed: this writer took the request's snippet and
// drops it, so the snippet the request claimed is not in the page.
func (w *injectWriter) passThrough(claimed bool) error {
	if !w.mode.headersSent() {
		// A user's snippet this writer did not put there, placed by
		// TemplateScript or Script.
		st := w.st
		st.keepPrivate(w.rw.Header(), !claimed && st.placedUser())
		w.writeStatus()
	}
	w.mode = modePass
	return w.send(w.held.Len())
}

func (w *injectWriter) passWrite(p []byte, claimed bool) (int, error) {
	if err := w.passThrough(claimed); err != nil {
		return 0, err
	}
	return w.rw.Write(p)
}

// send writes the first n held bytes and lets them go.
func (w *injectWriter) send(n int) error {
	if n == 0 {
		return nil
	}
	err := w.held.WriteTo(w.rw, 0, n)
	w.held.Drop(n)
	w.bufOff += n
	return err
}

// commitInjected sends the headers of a page that carries (or, after an
// early Flush, may come to carry) one user's snippet. Content-Length grows
// by grow, the snippet's size; grow -1 means the final length is unknown
// and Content-Length must go.
func (w *injectWriter) commitInjected(grow int) {
	injectedHeaders(w.rw.Header(), &w.st.values, w.sniffed, grow, w.st.anonymous, w.m.ttl)
	w.writeStatus()
}

// flush sends everything written so far except an unfinished tag (which
// may still turn out to be the insertion point), then flushes the writer
// beneath. Before the decision this commits the headers: as the page may
// still get the snippet, they are those of an injected page of unknown
// length.
func (w *injectWriter) flush() error {
	if w.mode == modeStatus {
		w.writeHeader(http.StatusOK)
	}
	var err error
	switch w.mode {
	case modeHijacked:
		return http.ErrHijacked
	case modeWait, modeFlushedWait:
		// The handler wants the bytes out now: decide on the part of the
		// prescan window written so far. (A <meta charset> written after
		// this Flush, behind the insertion point and within the first
		// 1,024 bytes, is the one case this cannot see.)
		_, err = w.insert(nil, true)
	case modeSniffHead:
		err = w.decideHead(nil)
	case modeScan, modeSniff, modeFlushed:
		err = w.flushHeld()
	}
	if err != nil {
		return err
	}
	return http.NewResponseController(w.rw).Flush()
}

// flushHeld sends the held bytes up to the scanner's flushable offset,
// the headers first if they are still held.
func (w *injectWriter) flushHeld() error {
	switch w.mode {
	case modeSniff:
		if !w.sniff(nil) {
			return w.passThrough(false)
		}
		w.commitInjected(-1)
	case modeScan:
		w.commitInjected(-1)
	}
	w.mode = modeFlushed
	return w.send(min(max(w.sc.Flushable()-w.bufOff, 0), w.held.Len()))
}

// readFrom feeds the page through write while the insertion point is still
// ahead, so http.ServeContent and io.Copy pages get the snippet too, and
// hands the rest to the writer beneath's ReadFrom (sendfile) after.
func (w *injectWriter) readFrom(src io.Reader) (int64, error) {
	var n int64
	for {
		switch w.mode {
		case modePass:
			if rf, ok := w.rw.(io.ReaderFrom); ok {
				m, err := rf.ReadFrom(src)
				return n + m, err
			}
			m, err := io.CopyBuffer(w.rw, src, w.readBuf())
			return n + m, err
		case modeHijacked:
			return n, http.ErrHijacked
		}
		buf := w.readBuf()
		if w.mode == modeStatus {
			// Like net/http, read no more than the sniffing needs before
			// the status is set, so that the status decides on the rest.
			buf = buf[:sniffLen]
		}
		k, rerr := src.Read(buf)
		if k > 0 {
			m, err := w.write(buf[:k])
			n += int64(m)
			if err != nil {
				return n, err
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func (w *injectWriter) readBuf() []byte {
	if w.rbuf == nil {
		w.rbuf = make([]byte, readChunk)
	}
	return w.rbuf
}

// hijack hands the connection over, as for a WebSocket upgrade. Whatever
// the handler wrote before goes out first, untouched, as net/http would.
func (w *injectWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.mode.holding() {
		if err := w.passThrough(w.mode.waiting()); err != nil {
			return nil, nil, err
		}
	}
	conn, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.mode = modeHijacked
	}
	return conn, brw, err
}

// finish ends the response when the handler returned before the decision:
// the page had no insertion point, so it goes out untouched, or the
// insertion waited for the prescan window, which the page's end
// completes. It reports whether nothing was written at all, which leaves
// the response to whoever answers after the handler, as without us.
func (w *injectWriter) finish() bool {
	switch w.mode {
	case modeWait, modeFlushedWait:
		_, _ = w.insert(nil, true)
	case modeSniffHead:
		_ = w.decideHead(nil)
	case modeScan, modeSniff, modeFlushed:
		_ = w.passThrough(false)
	}
	return w.status == 0
}
