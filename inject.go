package productfruits

import (
	"bufio"
	"bytes"
	"html"
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
// the insertion point, and so the memory one response can take. </head> and
// <body> come within the first few KiB of real pages; 256 KiB still leaves
// room for heads carrying large inline styles or scripts. A page that needs
// more passes through untouched rather than growing the buffer without end.
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
// being looked for; io.Copy's own size, so ReadFrom costs no more calls.
const readChunk = 32 << 10

var writerPool = sync.Pool{New: func() any { return new(injectWriter) }}

// SkipInject keeps the response to r free of the snippet: no injection,
// and TemplateScript and Script render nothing for it, the anonymous
// script included; its headers stay as the handler writes them. The user
// stays in the request context (FromContext). Call it before writing the
// response's status or body, and before TemplateScript or Script emitted
// the snippet (which it cannot take back). It does nothing for a request
// the middleware did not see. To exclude whole paths, use Config.Skip.
func SkipInject(r *http.Request) {
	if st := stateFrom(r.Context()); st != nil {
		st.snippet.CompareAndSwap(snippetOpen, snippetSkipped)
	}
}

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
	h.close(func() bool {
		w.finish()
		return w.status == 0 // nothing written: the framework may answer after us
	})
	// The handle no longer leads to w (close cleared it under the lock),
	// so nothing the handler left running can reach it.
	w.release()
	writerPool.Put(w)
}

type writerMode uint8

const (
	// modeHold: the status is unknown or the page is being scanned; headers
	// stay unsent, since injecting changes them.
	modeHold writerMode = iota
	// modePass: the decision is made (snippet inserted or page left alone);
	// every byte goes straight to the underlying writer.
	modePass
	// modeHijacked: the connection belongs to the handler now.
	modeHijacked
)

// injectWriter holds a response back until it knows whether and where the
// snippet goes, then splices it in without copying the rest of the page.
type injectWriter struct {
	rw http.ResponseWriter
	m  *Middleware
	r  *http.Request
	st *requestState

	mode      writerMode
	status    int  // final status the handler chose; 0 until it chose one
	committed bool // the underlying WriteHeader has been called
	head      bool // a HEAD request: only the headers are ever changed
	sniff     bool // no Content-Type: net/http would sniff the body
	sniffed   string

	// held are the bytes scanned but not yet sent: stream offsets
	// bufOff to bufOff+held.Len().
	held   heldBytes
	bufOff int
	sc     htmlscan.Scanner
	snip   []byte
	rbuf   []byte

	// waiting: the insertion point is known but lies in the bytes a
	// browser prescans for <meta charset>, which are not all here yet.
	waiting   bool
	finishing bool // no more bytes will come before the decision
	claimed   bool // this response took the request's one snippet

	// trailers are the declared trailer fields the header did not hold
	// when the handler chose its status: values set later are trailers.
	trailers []string

	// noCharset: an HTML (not XHTML) page whose Content-Type names no
	// charset, read once from the handler's or the sniffed type.
	noCharset bool

	// outerEncoding is the Content-Encoding the header held when the
	// request reached the middleware: set by a layer outside it, which
	// compresses whatever the middleware writes.
	outerEncoding []string

	// scratch holds the first bytes of the page when the sniffer or the
	// prescan check needs them in one piece; kept with the pooled writer.
	scratch *[prescanLen]byte
}

// reset prepares a pooled writer for the response to r.
//
// It zeroes the writer in place and sets the fields one by one: a struct
// literal would be built on the stack first, and this frame stays on the
// stack under the whole handler (see serveInjected), which under HTTP/2
// runs on a goroutine of its own per request whose stack would have to
// grow.
func (w *injectWriter) reset(rw http.ResponseWriter, m *Middleware, r *http.Request, st *requestState) {
	snip, rbuf, trailers, scratch := w.snip[:0], w.rbuf, w.trailers[:0], w.scratch
	*w = injectWriter{}
	w.rw, w.m, w.r, w.st = rw, m, r, st
	w.outerEncoding = rw.Header()["Content-Encoding"]
	w.head = r.Method == http.MethodHead
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

// Unwrap lets http.ResponseController reach the underlying writer for the
// features this wrapper does not change (deadlines, full duplex).
func (w *injectWriter) Unwrap() http.ResponseWriter { return w.rw }

// Header returns the underlying header map itself, so the snippet's nonce
// and the handler's headers are read where the handler wrote them.
func (w *injectWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader records the final status and holds it back while the page
// may still need new headers. Interim 1xx responses carry no page and go
// out at once; 101 ends the response like a final status, as in net/http.
func (w *injectWriter) WriteHeader(code int) {
	if w.mode == modeHijacked || w.status != 0 {
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
		act = decide(code, h, w.head, w.outerEncoding)
	}
	switch act {
	case actScan, actSniff, actSniffHead:
	case actScanNoCharset:
		w.noCharset = true
	case actScanXHTML:
		w.sc.SetXML() // the browser parses it as XML
	case actHeaders:
		w.commitInjected(-1)
		w.mode = modePass
		return
	case actPassCompressed:
		w.m.warnOnce(w.r, causeInnerCompression,
			"an HTML page reached the middleware already compressed, so it goes out without the snippet "+
				"(pages under the compressor's minimum size still get it): put pf.Handler inside your compression "+
				"middleware, so that the compressor wraps it",
			slog.String("content-encoding", strings.Join(h["Content-Encoding"], ", ")))
		fallthrough
	default:
		_ = w.passThrough()
		return
	}
	w.sniff = act == actSniff || act == actSniffHead
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
	w.committed = true
	if len(w.trailers) == 0 {
		w.rw.WriteHeader(w.status)
		return
	}
	w.writeStatusHidingTrailers()
}

// writeStatusHidingTrailers is writeStatus for a response with declared
// trailers, in a frame of its own: only such responses need its map.
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

// Write scans p for the insertion point while the decision is open, and
// afterwards hands it straight to the underlying writer.
func (w *injectWriter) Write(p []byte) (int, error) {
	switch w.mode {
	case modePass:
		return w.rw.Write(p)
	case modeHijacked:
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
		if w.mode == modePass {
			return w.rw.Write(p)
		}
	}
	if w.head {
		return w.writeHead(p)
	}
	if w.waiting {
		// The insertion point is known; the bytes up to prescanLen decide
		// whether the snippet may go there (see insert).
		if w.bufOff+w.held.Len()+len(p) < prescanLen {
			w.held.Append(p)
			return len(p), nil
		}
		w.waiting = false
		return w.insert(p)
	}
	q := p
	if rest := lookAhead - w.sc.Offset(); len(q) > rest {
		q = q[:rest]
	}
	switch w.sc.Scan(q) {
	case htmlscan.Insert:
		return w.insert(p)
	case htmlscan.More:
		if len(q) == len(p) {
			w.held.Append(p)
			return len(p), nil
		}
		return w.pastLookAhead(p)
	}
	// Not a page to inject.
	return w.passWrite(p)
}

// pastLookAhead handles a write that takes the page past the look-ahead
// with the head still open (a large inline state, say): the snippet goes
// to the last point known to be in the head, if it has not been sent.
func (w *injectWriter) pastLookAhead(p []byte) (int, error) {
	if safe := w.sc.LastSafe(); safe > 0 && safe >= w.bufOff && w.sc.UseLastSafe() {
		return w.insert(p)
	}
	w.m.warnOnce(w.r, causeLookAhead,
		"a page's head runs past the middleware's 256 KiB look-ahead with no point in it known to take the snippet, "+
			"so it goes out without it: move large inline data out of the head, or place the snippet with TemplateScript",
		slog.Int("look-ahead", lookAhead))
	return w.passWrite(p)
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

func (w *injectWriter) decideHead(p []byte) error {
	if w.sniffHTML(p) {
		w.commitInjected(-1)
	}
	return w.passThrough()
}

// sniffHTML reports whether net/http would sniff the body starting with
// the held bytes and then p as HTML, as it does on its first 512 bytes.
func (w *injectWriter) sniffHTML(p []byte) bool {
	data := p
	if w.held.Len() > 0 {
		scratch := w.scratchSpace()
		n := w.held.Copy(scratch[:sniffLen], 0)
		n += copy(scratch[n:sniffLen], p)
		data = scratch[:n]
	}
	w.sniffed = sniffedHTML(data)
	return w.sniffed != ""
}

// insert splices the snippet in at the scanner's insertion point, which
// lies either in the held bytes or in p, and switches to pass-through.
func (w *injectWriter) insert(p []byte) (int, error) {
	held := w.held.Len()
	at := w.sc.InsertAt() - w.bufOff
	if at < 0 || at > held+len(p) {
		// Cannot happen: Flush never sends bytes of an unfinished tag.
		// Should it ever, a page without the snippet beats a broken one.
		return w.passWrite(p)
	}
	if !w.committed && w.sniff && !w.sniffHTML(p) {
		return w.passWrite(p)
	}
	if !w.claimed {
		if !w.st.claim() {
			return w.passWrite(p)
		}
		w.claimed = true
	}
	if w.sc.InsertAt() < prescanLen && w.prescanDecides(p) && !w.prescanSettled(p, at) {
		if end := w.bufOff + held + len(p); end < prescanLen && !w.finishing {
			// Hold on until the browser's prescan window is complete.
			w.held.Append(p)
			w.waiting = true
			return len(p), nil
		}
		if prescanAffected(w.window(p, at, prescanLen-w.bufOff)) {
			// The snippet would push a <meta charset>, or the non-ASCII
			// text a browser guesses the encoding from, out of the
			// bytes it prescans: the page's encoding could change.
			return w.passWrite(p)
		}
	}
	// A write that holds the whole insertion point and is no larger than
	// what servers buffer goes on as one write, snippet inside, so the
	// writes after it stay aligned with the server's buffer (under HTTP/2
	// each misaligned write costs a copy and a flush of its own).
	whole := held == 0 && len(p) <= maxCoalesce
	buf := w.snip[:0]
	if whole {
		buf = append(buf, p[:at]...)
	}
	start := len(buf)
	var err error
	if buf, err = w.m.appendSnippet(buf, w.r, w.st, w.rw.Header(), w.metaPolicies(p)); err != nil {
		w.m.logFailure(w.r, err, "page left without the snippet")
		return w.passWrite(p)
	}
	if !w.committed {
		w.commitInjected(len(buf) - start)
	}
	w.mode = modePass
	if whole {
		buf = append(buf, p[at:]...)
		_, err = w.rw.Write(buf)
	} else {
		err = w.splice(buf, p, at, held)
	}
	w.snip = buf
	w.bufOff += held
	w.held.Reset()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// splice writes the held bytes followed by p with snip inserted at
// offset at, without copying either.
func (w *injectWriter) splice(snip, p []byte, at, held int) error {
	if at > held { // the insertion point lies in p
		if err := w.held.WriteTo(w.rw, 0, held); err != nil {
			return err
		}
		return w.writeParts(p[:at-held], snip, p[at-held:])
	}
	if err := w.held.WriteTo(w.rw, 0, at); err != nil {
		return err
	}
	if err := w.writeParts(snip); err != nil {
		return err
	}
	if err := w.held.WriteTo(w.rw, at, held); err != nil {
		return err
	}
	return w.writeParts(p)
}

// writeParts writes each non-empty part, stopping at the first error.
func (w *injectWriter) writeParts(parts ...[]byte) error {
	for _, b := range parts {
		if len(b) == 0 {
			continue
		}
		if _, err := w.rw.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// window returns the bytes from offset from up to offset to of the held
// bytes followed by p, in one piece: in place when they lie in p, else
// copied into the writer's scratch space (to is within prescanLen).
func (w *injectWriter) window(p []byte, from, to int) []byte {
	held := w.held.Len()
	to = min(to, held+len(p))
	if from >= to {
		return nil
	}
	if from >= held {
		return p[from-held : to-held]
	}
	scratch := w.scratchSpace()
	n := w.held.Copy(scratch[:min(to, held)-from], from)
	if to > held {
		n += copy(scratch[n:], p[:to-held])
	}
	return scratch[:n]
}

func (w *injectWriter) scratchSpace() *[prescanLen]byte {
	if w.scratch == nil {
		w.scratch = new([prescanLen]byte)
	}
	return w.scratch
}

// prescanDecides reports whether the browser will take this page's
// encoding from a <meta> in its first bytes: an HTML page whose
// Content-Type names no charset (a sniffed one does: net/http adds
// utf-8) and which does not start with a byte order mark. p is the write
// being handled, after the held bytes.
func (w *injectWriter) prescanDecides(p []byte) bool {
	if !w.noCharset {
		return false
	}
	return w.bufOff > 0 || !bytes.HasPrefix(w.window(p, 0, 3), []byte("\xef\xbb\xbf"))
}

// prescanSettled reports whether the browser's prescan settles the
// encoding within the bytes before the insertion point at (a <meta
// charset> there): nothing after them can change it.
func (w *injectWriter) prescanSettled(p []byte, at int) bool {
	return w.bufOff == 0 && htmlscan.PrescanFinds(w.window(p, 0, at))
}

// maxMetaTag bounds how much of a <meta http-equiv> is read for its policy.
const maxMetaTag = 8 << 10

// metaPolicies returns the Content-Security-Policy values the page
// declares in <meta http-equiv> elements of its head before the insertion
// point, read from the held bytes and p. A meta already sent by an early
// Flush is not read.
func (w *injectWriter) metaPolicies(p []byte) []string {
	var policies []string
	held := w.held.Len()
	for _, off := range w.sc.Metas() {
		from := off - w.bufOff
		if from < 0 {
			continue
		}
		var tag []byte
		if from >= held {
			tag = p[from-held : min(len(p), from-held+maxMetaTag)]
		} else {
			n := min(held+len(p)-from, maxMetaTag)
			tag = make([]byte, n)
			k := w.held.Copy(tag, from)
			copy(tag[k:], p)
		}
		if v, ok := htmlscan.Attr(tag, "http-equiv"); !ok || !strings.EqualFold(html.UnescapeString(string(v)), "content-security-policy") {
			continue
		}
		if v, ok := htmlscan.Attr(tag, "content"); ok {
			policies = append(policies, html.UnescapeString(string(v)))
		}
	}
	return policies
}

// passThrough ends the decision without injecting: the headers go out as
// the handler left them (unless a Flush already sent them) and so do the
// held bytes.
func (w *injectWriter) passThrough() error {
	w.mode = modePass
	if !w.committed {
		// A user's snippet this writer did not put there, placed by
		// TemplateScript or Script.
		st := w.st
		st.keepPrivate(w.rw.Header(), !w.claimed && !st.anonymous && st.snippet.Load() == snippetClaimed)
		w.writeStatus()
	}
	held := w.held.Len()
	if held == 0 {
		return nil
	}
	err := w.held.WriteTo(w.rw, 0, held)
	w.bufOff += held
	w.held.Reset()
	return err
}

func (w *injectWriter) passWrite(p []byte) (int, error) {
	if err := w.passThrough(); err != nil {
		return 0, err
	}
	return w.rw.Write(p)
}

// commitInjected sends the headers of a page that carries (or, after an
// early Flush, may come to carry) one user's snippet. Content-Length grows
// by grow, the snippet's size; grow -1 means the final length is unknown
// and Content-Length must go.
func (w *injectWriter) commitInjected(grow int) {
	sniffed := ""
	if w.sniff {
		sniffed = w.sniffed
	}
	injectedHeaders(w.rw.Header(), &w.st.values, sniffed, grow, w.st.anonymous, w.m.ttl)
	w.writeStatus()
}

// Flush sends what can be sent and flushes the underlying writer; see
// FlushError.
func (w *injectWriter) Flush() { _ = w.FlushError() }

// FlushError sends everything written so far except an unfinished tag
// (which may still turn out to be the insertion point), then flushes the
// underlying writer. Before the decision this commits the headers: as the
// page may still get the snippet, they are those of an injected page of
// unknown length.
func (w *injectWriter) FlushError() error {
	if w.mode == modeHijacked {
		return http.ErrHijacked
	}
	if w.mode == modeHold && w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.waiting {
		// The handler wants the bytes out now: decide on the part of the
		// prescan window written so far. (A <meta charset> written after
		// this Flush, behind the insertion point and within the first
		// 1,024 bytes, is the one case this cannot see.)
		w.waiting, w.finishing = false, true
		if _, err := w.insert(nil); err != nil {
			return err
		}
	}
	if w.mode == modeHold {
		if err := w.flushHeld(); err != nil {
			return err
		}
	}
	return http.NewResponseController(w.rw).Flush()
}

func (w *injectWriter) flushHeld() error {
	if w.head {
		return w.decideHead(nil)
	}
	if !w.committed {
		if w.sniff && !w.sniffHTML(nil) {
			return w.passThrough()
		}
		w.commitInjected(-1)
	}
	safe := min(max(w.sc.Flushable()-w.bufOff, 0), w.held.Len())
	if safe == 0 {
		return nil
	}
	err := w.held.WriteTo(w.rw, 0, safe)
	w.held.Drop(safe)
	w.bufOff += safe
	return err
}

// ReadFrom feeds the page through Write while the insertion point is still
// ahead, so http.ServeContent and io.Copy pages get the snippet too, and
// hands the rest to the underlying writer's ReadFrom (sendfile) after.
func (w *injectWriter) ReadFrom(src io.Reader) (int64, error) {
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
		if w.status == 0 {
			// Like net/http, read no more than the sniffing needs before
			// the status is set: a response decided by its headers alone
			// then takes the fast path for all the rest.
			buf = buf[:sniffLen]
		}
		k, rerr := src.Read(buf)
		if k > 0 {
			m, err := w.Write(buf[:k])
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

// Hijack hands the connection over, as for a WebSocket upgrade. Whatever
// the handler wrote before goes out first, untouched, as net/http would.
func (w *injectWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.mode == modeHold && w.status != 0 {
		if err := w.passThrough(); err != nil {
			return nil, nil, err
		}
	}
	conn, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.mode = modeHijacked
	}
	return conn, brw, err
}

// finish ends a response whose handler returned before the decision: the
// page had no insertion point, so it goes out untouched, or the insertion
// waited for the prescan window, which the page's end completes.
func (w *injectWriter) finish() {
	if w.mode != modeHold || w.status == 0 {
		// Nothing written at all: net/http answers as without us.
		return
	}
	if w.waiting {
		w.waiting, w.finishing = false, true
		_, _ = w.insert(nil)
		return
	}
	if w.head {
		_ = w.decideHead(nil)
		return
	}
	_ = w.passThrough()
}
