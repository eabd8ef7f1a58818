package productfruits

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
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

// maxPooledBuf keeps a rare page with a huge head from pinning a large
// buffer in the pool for ever.
const maxPooledBuf = 64 << 10

// readChunk is the ReadFrom buffer size while the insertion point is still
// being looked for; io.Copy's own size, so ReadFrom costs no more calls.
const readChunk = 32 << 10

// injectableRequest reports whether the response to r may carry the
// snippet at all. Range responses are byte ranges of the original page, and
// htmx and Turbo frame requests expect fragments they splice into a page
// that already has its own snippet. HEAD is injectable so that its headers
// match those of the GET it describes.
func injectableRequest(r *http.Request) bool {
	// Canonical keys looked up directly: Header.Get would canonicalize
	// (and for "HX-Request" allocate) on every request.
	h := r.Header
	return len(h["Range"]) == 0 && len(h["Hx-Request"]) == 0 && len(h["Turbo-Frame"]) == 0
}

var writerPool = sync.Pool{New: func() any { return new(injectWriter) }}

// serveInjected runs next with a writer that splices the snippet into the
// HTML page next writes.
func (m *Middleware) serveInjected(rw http.ResponseWriter, r *http.Request, st *requestState, next http.Handler) {
	w := writerPool.Get().(*injectWriter)
	w.reset(rw, m, r, st)
	finished := false
	defer func() {
		// A panicking handler (http.ErrAbortHandler included) leaves the
		// writer half way through a response, and the handler's goroutines
		// may still hold it: never hand it to another request. The panic
		// itself keeps propagating to net/http.
		if finished {
			w.release()
			writerPool.Put(w)
		}
	}()
	next.ServeHTTP(w, r)
	w.finish()
	finished = true
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

	// buf holds the bytes scanned but not yet sent: stream offsets
	// bufOff to bufOff+len(buf).
	buf    []byte
	bufOff int
	sc     htmlScanner
	snip   []byte
	rbuf   []byte

	// trailers are the declared trailer fields the header did not hold
	// when the handler chose its status: values set later are trailers.
	trailers []string

	sniffBuf [sniffLen]byte
}

// Compile-time checks that the wrapper keeps the powers handlers and
// http.ResponseController look for.
var (
	_ http.ResponseWriter                       = (*injectWriter)(nil)
	_ http.Flusher                              = (*injectWriter)(nil)
	_ http.Hijacker                             = (*injectWriter)(nil)
	_ io.ReaderFrom                             = (*injectWriter)(nil)
	_ interface{ FlushError() error }           = (*injectWriter)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*injectWriter)(nil)
)

func (w *injectWriter) reset(rw http.ResponseWriter, m *Middleware, r *http.Request, st *requestState) {
	*w = injectWriter{
		rw: rw, m: m, r: r, st: st,
		head: r.Method == http.MethodHead,
		buf:  w.buf[:0], snip: w.snip[:0], rbuf: w.rbuf, trailers: w.trailers[:0],
	}
	w.sc.reset(m.scriptURL, m.scriptAttr)
}

// release drops everything that belongs to the finished request, so the
// pool pins neither it nor an oversized buffer.
func (w *injectWriter) release() {
	buf, snip := w.buf[:0], w.snip[:0]
	if cap(buf) > maxPooledBuf {
		buf = nil
	}
	if cap(snip) > maxPooledBuf {
		snip = nil
	}
	*w = injectWriter{buf: buf, snip: snip, rbuf: w.rbuf, trailers: w.trailers[:0]}
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
	if tr := h["Trailer"]; len(tr) > 0 {
		w.noteTrailers(h, tr)
	}
	if !injectableStatus(code) || !identityEncoding(h) || isAttachment(h) {
		_ = w.passThrough()
		return
	}
	if ct, ok := h["Content-Type"]; ok {
		// A present but empty Content-Type also stops net/http's sniffing:
		// the browser gets no type, so this is not an HTML page for us.
		if len(ct) == 0 || !isHTMLType(ct[0]) {
			_ = w.passThrough()
			return
		}
	} else {
		w.sniff = true
	}
	if w.head && !w.sniff {
		w.commitInjected(false)
		w.mode = modePass
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
	w.committed = true
	if len(w.trailers) == 0 {
		w.rw.WriteHeader(w.status)
		return
	}
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

func injectableStatus(code int) bool {
	return code >= 200 && code < 300 && code != http.StatusNoContent && code != http.StatusPartialContent
}

// identityEncoding reports whether the body is the page itself: spliced
// into a compressed body, the snippet would corrupt it.
func identityEncoding(h http.Header) bool {
	for _, v := range h["Content-Encoding"] {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !strings.EqualFold(tok, "identity") {
				return false
			}
		}
	}
	return true
}

// isAttachment reports a download: the bytes are a file for the user's
// disk, not a page that runs scripts.
func isAttachment(h http.Header) bool {
	v := ""
	if vs := h["Content-Disposition"]; len(vs) > 0 {
		v = vs[0]
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "attachment")
}

func isHTMLType(v string) bool {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	return strings.EqualFold(v, "text/html") || strings.EqualFold(v, "application/xhtml+xml")
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
	q := p
	if rest := lookAhead - w.sc.off; len(q) > rest {
		q = q[:rest]
	}
	switch w.sc.scan(q) {
	case scanInsert:
		return w.insert(p)
	case scanMore:
		if len(q) == len(p) {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
	}
	// Not a page to inject, or no insertion point within the look-ahead.
	return w.passWrite(p)
}

// writeHead decides a HEAD response's headers from the body's type alone:
// HEAD bodies are normally empty, and whatever a handler writes is dropped
// by net/http anyway, so it is passed on unchanged.
func (w *injectWriter) writeHead(p []byte) (int, error) {
	if len(w.buf)+len(p) < sniffLen {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.decideHead(p); err != nil {
		return 0, err
	}
	return w.rw.Write(p)
}

func (w *injectWriter) decideHead(p []byte) error {
	if w.sniffHTML(p) {
		w.commitInjected(false)
	}
	return w.passThrough()
}

// sniffHTML reports whether net/http would sniff the body starting with
// the held bytes and then p as HTML, as it does on its first 512 bytes.
func (w *injectWriter) sniffHTML(p []byte) bool {
	data := w.buf
	if len(data) < sniffLen && len(p) > 0 {
		if len(data) == 0 {
			data = p
		} else {
			n := copy(w.sniffBuf[:], data)
			n += copy(w.sniffBuf[n:], p)
			data = w.sniffBuf[:n]
		}
	}
	if len(data) == 0 {
		// net/http sets no type for an empty body: the browser is told
		// nothing, so this is no HTML page to inject.
		return false
	}
	ct := http.DetectContentType(data[:min(len(data), sniffLen)])
	if !isHTMLType(ct) {
		return false
	}
	w.sniffed = ct
	return true
}

// insert splices the snippet in at the scanner's insertion point, which
// lies either in the held bytes or in p, and switches to pass-through.
func (w *injectWriter) insert(p []byte) (int, error) {
	at := w.sc.insertAt - w.bufOff
	if at < 0 || at > len(w.buf)+len(p) {
		// Cannot happen: Flush never sends bytes of an unfinished tag.
		// Should it ever, a page without the snippet beats a broken one.
		return w.passWrite(p)
	}
	if !w.committed && w.sniff && !w.sniffHTML(p) {
		return w.passWrite(p)
	}
	if !w.st.claim() {
		return w.passWrite(p)
	}
	w.snip = w.m.appendSnippet(w.snip[:0], w.r, w.st, w.rw.Header())
	if len(w.snip) == 0 {
		// The user object could not be encoded (appendSnippet logged it).
		return w.passWrite(p)
	}
	if !w.committed {
		w.commitInjected(true)
	}
	w.mode = modePass
	var err error
	if at <= len(w.buf) {
		err = w.writeAll(w.buf[:at], w.snip, w.buf[at:], p)
	} else {
		at -= len(w.buf)
		err = w.writeAll(w.buf, p[:at], w.snip, p[at:])
	}
	w.buf = w.buf[:0]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *injectWriter) writeAll(parts ...[]byte) error {
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

// passThrough ends the decision without injecting: the headers go out as
// the handler left them (unless a Flush already sent them) and so do the
// held bytes.
func (w *injectWriter) passThrough() error {
	w.mode = modePass
	if !w.committed {
		w.writeStatus()
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.rw.Write(w.buf)
	w.bufOff += len(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *injectWriter) passWrite(p []byte) (int, error) {
	if err := w.passThrough(); err != nil {
		return 0, err
	}
	return w.rw.Write(p)
}

// commitInjected sends the headers of a page that carries (or, after an
// early Flush, may come to carry) one user's snippet. With lengthKnown the
// snippet is in w.snip and Content-Length grows by its size; otherwise the
// final length is unknown and Content-Length must go.
func (w *injectWriter) commitInjected(lengthKnown bool) {
	h := w.rw.Header()
	if w.sniff && w.sniffed != "" {
		// Say what net/http would have sniffed: the snippet may land
		// inside the first 512 bytes it would otherwise look at.
		h["Content-Type"] = []string{w.sniffed}
	}
	// Validators and digests describe the handler's body, not this one:
	// a conditional request must not revalidate a page with a stale hash.
	for k := range h {
		switch k {
		case "Etag", "Last-Modified", "Accept-Ranges", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest":
			delete(h, k)
		}
	}
	if cls := h["Content-Length"]; len(cls) > 0 {
		n, err := strconv.ParseInt(strings.TrimSpace(cls[0]), 10, 64)
		if lengthKnown && err == nil && n >= 0 {
			h["Content-Length"] = []string{strconv.FormatInt(n+int64(len(w.snip)), 10)}
		} else {
			delete(h, "Content-Length")
		}
	}
	if len(h["Cache-Control"]) == 0 && len(h["Vary"]) == 0 {
		// The common case, in one allocation.
		both := []string{"private", "Cookie"}
		h["Cache-Control"], h["Vary"] = both[:1:1], both[1:]
	} else {
		privateCacheControl(h)
		varyCookie(h)
	}
	w.writeStatus()
}

// privateCacheControl keeps shared caches from storing a page that carries
// one user's signed identity: "private" is added, "public" and "s-maxage"
// (which only shared caches obey) are dropped, everything else stays.
func privateCacheControl(h http.Header) {
	vals := h["Cache-Control"]
	if len(vals) == 0 {
		h["Cache-Control"] = []string{"private"}
		return
	}
	var out []byte
	private := false
	for _, v := range vals {
		for v != "" {
			var d string
			d, v = nextDirective(v)
			d = strings.TrimSpace(d)
			name, _, qualified := strings.Cut(d, "=")
			name = strings.TrimSpace(name)
			switch {
			case d == "", strings.EqualFold(name, "public"), strings.EqualFold(name, "s-maxage"):
				continue
			case strings.EqualFold(name, "private"):
				if qualified {
					// private="field" still lets shared caches store the
					// page; the bare directive added below covers it.
					continue
				}
				private = true
			}
			if len(out) > 0 {
				out = append(out, ", "...)
			}
			out = append(out, d...)
		}
	}
	if !private {
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = append(out, "private"...)
	}
	h["Cache-Control"] = []string{string(out)}
}

// nextDirective splits off the first comma-separated Cache-Control
// directive, keeping commas inside quoted strings such as no-cache="a, b".
func nextDirective(v string) (string, string) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return v[:i], v[i+1:]
		}
	}
	return v, ""
}

// varyCookie makes caches key the page on the cookie that identifies its
// user, merged into the existing Vary so no field appears twice.
func varyCookie(h http.Header) {
	vals := h["Vary"]
	for _, v := range vals {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok == "*" || strings.EqualFold(tok, "Cookie") {
				return
			}
		}
	}
	if n := len(vals); n > 0 && strings.TrimSpace(vals[n-1]) != "" {
		vals[n-1] += ", Cookie"
		return
	}
	h["Vary"] = append(vals[:max(len(vals)-1, 0)], "Cookie")
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
		w.commitInjected(false)
	}
	safe := len(w.buf)
	if ts := w.sc.tagStart; ts >= 0 {
		safe = min(max(ts-w.bufOff, 0), len(w.buf))
	}
	if safe == 0 {
		return nil
	}
	_, err := w.rw.Write(w.buf[:safe])
	w.buf = w.buf[:copy(w.buf, w.buf[safe:])]
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
// page had no insertion point, so it goes out untouched.
func (w *injectWriter) finish() {
	if w.mode != modeHold || w.status == 0 {
		// Nothing written at all: net/http answers as without us.
		return
	}
	if w.head {
		_ = w.decideHead(nil)
		return
	}
	_ = w.passThrough()
}

// The scanner: a streaming subset of the WHATWG HTML tokenizer, just
// enough to tell real tags from text, comments, attribute values and the
// contents of raw text elements. It keeps its whole state between calls,
// so a page may arrive in pieces split anywhere, and it never looks back at
// earlier bytes, so they need not be kept contiguous.

type scanResult uint8

const (
	scanMore   scanResult = iota // no decision yet
	scanInsert                   // the insertion point is at insertAt
	scanGiveUp                   // leave the page untouched
)

type scanState uint8

const (
	stData scanState = iota
	stBOM
	stTagOpen    // after '<'
	stEndTagOpen // after "</"
	stTagName
	stBeforeAttrName
	stAttrName
	stAfterAttrName
	stBeforeAttrValue
	stAttrValueQuoted
	stAttrValueUnquoted
	stAfterAttrValue
	stMarkupOpen // after "<!"
	stMarkupDash // after "<!-"
	stDoctype    // matching "doctype" in the prolog
	stComment
	stBogusComment
	stRawText
	stScript
)

const (
	bom          = "\xef\xbb\xbf"
	doctype      = "doctype"
	scriptName   = "script"
	scriptGlobal = "$productFruits"
)

// htmlScanner finds where the snippet goes: right before the first real
// </head> or, in a page without one before it, the <body> start tag.
// (A </head> after <body> is ignored by browsers, so the first of the
// two is the right spot.)
type htmlScanner struct {
	state    scanState
	prolog   bool // only whitespace, comments and a BOM so far
	off      int  // stream offset of the next byte
	tagStart int  // stream offset of the '<' of the tag being read, or -1
	insertAt int

	endTag  bool
	name    [10]byte // tag name, lower-cased; long enough for "plaintext"
	nameLen int      // may exceed len(name): then no name we know
	attr    [len(snippetMarker)]byte
	attrLen int
	quote   byte
	kw      int // progress through the BOM or "doctype"

	// A <script> start tag outside <template> is checked for being the
	// snippet itself: the marker attribute or the loader's src.
	script   bool
	marked   bool
	srcValue bool
	srcIdx   [2]int    // match progress per urls entry; -1 once different
	urls     [2]string // the loader URL, raw and as written in an attribute

	raw    string // end tag name that closes the raw text element
	rawIdx int    // progress through "</"+raw
	lt     uint8  // script: inside "<", "</script", "<!--" or "<script"
	esc    uint8  // script data: 0 plain, 1 escaped, 2 double escaped
	seqIdx int    // progress through "script" after "</" or "<"
	dashes int    // consecutive '-' so far: "-->" ends comments and escapes
	dollar int    // progress through "$productFruits"
	live   bool   // the script runs (not in a <template>): it may be the loader
	depth  int    // <template> nesting: its contents are inert
	clen   int    // comment bytes so far, capped at 2, for <!--> and <!--->
	bang   bool   // "--!" seen: '>' ends the comment too
	seqAt  int    // stream offset of the '<' that may start an end tag
}

func (s *htmlScanner) reset(scriptURL, scriptAttr string) {
	*s = htmlScanner{prolog: true, tagStart: -1, urls: [2]string{scriptURL, scriptAttr}}
}

// Bytes that end a tag name, an attribute name and an unquoted attribute
// value; tables keep the scanner's inner loops short.
var nameStop, attrStop, unquotedStop [256]bool

func init() {
	for _, c := range []byte(" \t\n\f\r") {
		nameStop[c], attrStop[c], unquotedStop[c] = true, true, true
	}
	nameStop['/'], nameStop['>'] = true, true
	attrStop['/'], attrStop['='], attrStop['>'] = true, true, true
	unquotedStop['>'] = true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (s *htmlScanner) nameIs(n string) bool {
	return s.nameLen == len(n) && string(s.name[:s.nameLen]) == n
}

func (s *htmlScanner) setName(n string) {
	s.nameLen = copy(s.name[:], n)
}

func (s *htmlScanner) beginAttr(c byte) {
	s.attrLen = 0
	if s.script {
		s.addAttr(c)
	}
	s.state = stAttrName
}

func (s *htmlScanner) addAttr(c byte) {
	if s.attrLen < len(s.attr) {
		s.attr[s.attrLen] = lower(c)
	}
	s.attrLen++
}

func (s *htmlScanner) attrIs(n string) bool {
	return s.attrLen == len(n) && string(s.attr[:s.attrLen]) == n
}

// endAttrName notes the attributes that make a script tag the snippet.
func (s *htmlScanner) endAttrName() {
	s.srcValue = false
	if !s.script {
		return
	}
	if s.attrIs(snippetMarker) {
		s.marked = true
	}
	s.srcValue = s.attrIs("src")
}

func (s *htmlScanner) beginValue() {
	s.srcIdx = [2]int{0, 0}
}

// matchSrc compares an attribute value with the loader URL as it streams
// by; surrounding whitespace is ignored, as browsers strip it from URLs.
func (s *htmlScanner) matchSrc(c byte) {
	for k, u := range s.urls {
		i := s.srcIdx[k]
		switch {
		case i < 0:
		case i == len(u):
			if !isSpace(c) {
				s.srcIdx[k] = -1
			}
		case i == 0 && isSpace(c):
		case u[i] == c:
			s.srcIdx[k]++
		default:
			s.srcIdx[k] = -1
		}
	}
	if s.srcIdx[0] < 0 && s.srcIdx[1] < 0 {
		s.srcValue = false // the rest of the value can be skipped
	}
}

func (s *htmlScanner) endValue() {
	if s.srcValue {
		for k, u := range s.urls {
			if u != "" && s.srcIdx[k] == len(u) {
				s.marked = true
			}
		}
	}
	s.srcValue = false
}

// endName checks the first tag of the page: only <html> or <head> (or a
// doctype) make it a whole document rather than a fragment.
func (s *htmlScanner) endName() bool {
	if s.prolog {
		if s.endTag || !(s.nameIs("html") || s.nameIs("head")) {
			return false
		}
		s.prolog = false
	}
	s.script = !s.endTag && s.depth == 0 && s.nameIs(scriptName)
	s.marked = false
	return true
}

// tagDone acts on a complete tag whose '>' is at stream offset at.
func (s *htmlScanner) tagDone() scanResult {
	start := s.tagStart
	s.tagStart = -1
	s.state = stData
	if s.endTag {
		switch {
		case s.nameIs("head") && s.depth == 0:
			s.insertAt = start
			return scanInsert
		case s.nameIs("template") && s.depth > 0:
			s.depth--
		}
		return scanMore
	}
	if s.script && s.marked {
		return scanGiveUp // the page already carries the snippet
	}
	switch string(s.name[:min(s.nameLen, len(s.name))]) {
	case "body":
		if s.nameLen == 4 && s.depth == 0 {
			s.insertAt = start
			return scanInsert
		}
	case "template":
		if s.nameLen == 8 {
			s.depth++
		}
	case scriptName:
		if s.nameLen == 6 {
			s.state = stScript
			s.lt, s.esc, s.dashes, s.dollar = 0, 0, 0, 0
			s.live = s.depth == 0
		}
	case "style":
		s.enterRaw("style")
	case "title":
		s.enterRaw("title")
	case "textarea":
		s.enterRaw("textarea")
	case "xmp":
		s.enterRaw("xmp")
	case "iframe":
		s.enterRaw("iframe")
	case "noembed":
		s.enterRaw("noembed")
	case "noframes":
		s.enterRaw("noframes")
	case "noscript":
		s.enterRaw("noscript")
	case "plaintext":
		if s.nameLen == 9 {
			return scanGiveUp // nothing after it is markup any more
		}
	}
	return scanMore
}

// enterRaw starts the text of an element that ends only at </name>; the
// name checks against nameLen, since name holds a prefix of longer names.
func (s *htmlScanner) enterRaw(name string) {
	if s.nameLen == len(name) {
		s.state, s.raw, s.rawIdx = stRawText, name, 0
	}
}

// scan consumes p, the next bytes of the page.
func (s *htmlScanner) scan(p []byte) scanResult {
	base := s.off
	s.off += len(p)
	for i := 0; i < len(p); {
		c := p[i]
		switch s.state {
		case stData:
			if s.prolog {
				switch {
				case c == '<':
					s.state = stTagOpen
					s.tagStart = base + i
				case c == bom[0] && base+i == 0:
					s.state, s.kw = stBOM, 1
				case !isSpace(c):
					return scanGiveUp
				}
				break
			}
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return scanMore
			}
			i += j
			s.tagStart = base + i
			i++
			if i < len(p) && isAlpha(p[i]) {
				// The common case, straight into the name loop.
				s.endTag, s.nameLen, s.state = false, 0, stTagName
			} else {
				s.state = stTagOpen
			}
			continue

		case stBOM:
			if c != bom[s.kw] {
				return scanGiveUp
			}
			if s.kw++; s.kw == len(bom) {
				s.state = stData
			}

		case stTagOpen:
			switch {
			case c == '!':
				s.state = stMarkupOpen
				s.tagStart = -1
			case c == '/':
				if s.prolog {
					return scanGiveUp
				}
				s.state = stEndTagOpen
			case isAlpha(c):
				s.endTag, s.nameLen, s.state = false, 0, stTagName
				continue
			case s.prolog:
				return scanGiveUp
			case c == '?':
				s.state = stBogusComment
				s.tagStart = -1
			default:
				// Not a tag: '<' was text; c is looked at again as text.
				s.state = stData
				s.tagStart = -1
				continue
			}

		case stEndTagOpen:
			switch {
			case isAlpha(c):
				s.endTag, s.nameLen, s.state = true, 0, stTagName
				continue
			case c == '>':
				s.state = stData
				s.tagStart = -1
			default:
				s.state = stBogusComment
				s.tagStart = -1
				continue
			}

		case stTagName:
			n := s.nameLen
			for ; i < len(p) && !nameStop[p[i]]; i++ {
				if n < len(s.name) {
					s.name[n] = lower(p[i])
				}
				n++
			}
			s.nameLen = n
			if i == len(p) {
				return scanMore
			}
			if !s.endName() {
				return scanGiveUp
			}
			if p[i] != '>' {
				s.state = stBeforeAttrName
				break
			}
			if r := s.tagDone(); r != scanMore {
				return r
			}

		case stBeforeAttrName:
			for ; i < len(p) && (isSpace(p[i]) || p[i] == '/'); i++ {
			}
			if i == len(p) {
				return scanMore
			}
			if p[i] != '>' {
				s.beginAttr(p[i])
				break
			}
			if r := s.tagDone(); r != scanMore {
				return r
			}

		case stAttrName:
			// Only a script's attribute names matter (the marker, src).
			for ; i < len(p) && !attrStop[p[i]]; i++ {
				if s.script {
					s.addAttr(p[i])
				}
			}
			if i == len(p) {
				return scanMore
			}
			s.endAttrName()
			switch p[i] {
			case '/':
				s.state = stBeforeAttrName
			case '=':
				s.state = stBeforeAttrValue
			case '>':
				if r := s.tagDone(); r != scanMore {
					return r
				}
			default:
				s.state = stAfterAttrName
			}

		case stAfterAttrName:
			switch {
			case isSpace(c):
			case c == '/':
				s.state = stBeforeAttrName
			case c == '=':
				s.state = stBeforeAttrValue
			case c == '>':
				if r := s.tagDone(); r != scanMore {
					return r
				}
			default:
				s.beginAttr(c)
			}

		case stBeforeAttrValue:
			switch {
			case isSpace(c):
			case c == '"' || c == '\'':
				s.quote = c
				s.beginValue()
				s.state = stAttrValueQuoted
			case c == '>':
				s.srcValue = false
				if r := s.tagDone(); r != scanMore {
					return r
				}
			default:
				s.beginValue()
				s.state = stAttrValueUnquoted
				continue
			}

		case stAttrValueQuoted:
			for ; i < len(p) && s.srcValue && p[i] != s.quote; i++ {
				s.matchSrc(p[i])
			}
			if i < len(p) && p[i] != s.quote {
				j := bytes.IndexByte(p[i:], s.quote)
				if j < 0 {
					return scanMore
				}
				i += j
			}
			if i == len(p) {
				return scanMore
			}
			s.endValue()
			s.state = stAfterAttrValue

		case stAttrValueUnquoted:
			for ; i < len(p) && !unquotedStop[p[i]]; i++ {
				if s.srcValue {
					s.matchSrc(p[i])
				}
			}
			if i == len(p) {
				return scanMore
			}
			s.endValue()
			if p[i] != '>' {
				s.state = stBeforeAttrName
				break
			}
			if r := s.tagDone(); r != scanMore {
				return r
			}

		case stAfterAttrValue:
			switch {
			case isSpace(c) || c == '/':
				s.state = stBeforeAttrName
			case c == '>':
				if r := s.tagDone(); r != scanMore {
					return r
				}
			default:
				s.state = stBeforeAttrName
				continue
			}

		case stMarkupOpen:
			switch {
			case c == '-':
				s.state = stMarkupDash
			case s.prolog && lower(c) == doctype[0]:
				s.state, s.kw = stDoctype, 1
			case s.prolog:
				return scanGiveUp
			default:
				s.state = stBogusComment
				continue
			}

		case stMarkupDash:
			switch {
			case c == '-':
				s.state = stComment
				s.clen, s.dashes, s.bang = 0, 0, false
			case s.prolog:
				return scanGiveUp
			default:
				s.state = stBogusComment
				continue
			}

		case stDoctype:
			if lower(c) != doctype[s.kw] {
				return scanGiveUp
			}
			if s.kw++; s.kw == len(doctype) {
				s.prolog = false
				s.state = stBogusComment
			}

		case stComment:
			if s.comment(c) {
				s.state = stData
			} else if s.dashes == 0 && !s.bang && s.clen == 2 {
				// Until the next '-' nothing can end the comment.
				j := bytes.IndexByte(p[i+1:], '-')
				if j < 0 {
					return scanMore
				}
				i += j + 1
				continue
			}

		case stBogusComment:
			j := bytes.IndexByte(p[i:], '>')
			if j < 0 {
				return scanMore
			}
			i += j
			s.state = stData

		case stRawText:
			switch s.rawIdx {
			case 0:
				j := bytes.IndexByte(p[i:], '<')
				if j < 0 {
					return scanMore
				}
				i += j
				s.seqAt = base + i
				if n := endTagAt(p[i:], s.raw); n > 0 {
					s.beginEndTag(s.raw)
					i += n
					continue
				}
				s.rawIdx = 1
			case 1:
				if c != '/' {
					s.rawIdx = 0
					continue
				}
				s.rawIdx = 2
			default:
				if k := s.rawIdx - 2; k < len(s.raw) {
					if lower(c) != s.raw[k] {
						s.rawIdx = 0
						continue
					}
					s.rawIdx++
					break
				}
				s.rawIdx = 0
				if isSpace(c) || c == '/' || c == '>' {
					s.beginEndTag(s.raw)
				}
				continue
			}

		case stScript:
			if s.lt == 0 && s.esc == 0 && s.dollar == 0 {
				// Plain script text: only '<' and, in a live script, '$'
				// can matter, so skip to the first of them.
				rest := p[i:]
				j := bytes.IndexByte(rest, '<')
				if s.live {
					end := len(rest)
					if j >= 0 {
						end = j
					}
					if d := bytes.IndexByte(rest[:end], '$'); d >= 0 {
						j = d
					}
				}
				if j < 0 {
					return scanMore
				}
				i += j
				c = p[i]
				if c == '<' {
					if n := endTagAt(p[i:], scriptName); n > 0 {
						s.seqAt = base + i
						s.beginEndTag(scriptName)
						i += n
						continue
					}
				}
			}
			if s.live {
				if c == scriptGlobal[s.dollar] {
					if s.dollar++; s.dollar == len(scriptGlobal) {
						return scanGiveUp // the page already runs the loader
					}
				} else if c == '$' {
					s.dollar = 1
				} else {
					s.dollar = 0
				}
			}
			if s.scriptByte(c, base+i) {
				continue
			}
		}
		i++
	}
	return scanMore
}

// endTagAt returns the length of "</"+name at the start of b when a byte
// that ends a tag name follows it in b, or 0: a fast path for the end of
// raw text, which otherwise goes byte by byte.
func endTagAt(b []byte, name string) int {
	n := 2 + len(name)
	if len(b) <= n || b[0] != '<' || b[1] != '/' || !nameStop[b[n]] {
		return 0
	}
	for k := 0; k < len(name); k++ {
		if lower(b[2+k]) != name[k] {
			return 0
		}
	}
	return n
}

// beginEndTag starts reading the end tag of a raw text or script element
// whose name has just been matched; the next byte is read as in a tag name.
func (s *htmlScanner) beginEndTag(name string) {
	s.endTag = true
	s.setName(name)
	s.tagStart = s.seqAt
	s.state = stTagName
}

// comment consumes one byte of a comment and reports whether it ended it:
// at "-->", "--!>", or the abrupt "<!-->" and "<!--->" browsers accept.
func (s *htmlScanner) comment(c byte) bool {
	end := false
	switch c {
	case '-':
		if s.bang {
			s.bang, s.dashes = false, 1
		} else {
			s.dashes++
		}
	case '!':
		s.bang = s.dashes >= 2 && !s.bang
		if !s.bang {
			s.dashes = 0
		}
	case '>':
		end = s.dashes >= 2 || s.bang || s.clen == 0 || (s.clen == 1 && s.dashes == 1)
		s.dashes, s.bang = 0, false
	default:
		s.dashes, s.bang = 0, false
	}
	if s.clen < 2 {
		s.clen++
	}
	return end
}

// scriptByte consumes one byte of script data, following the tokenizer's
// escape states so that "</script>" inside "<!-- <script> ... -->" does
// not end the element. It reports whether c must be read again in the
// state it switched to.
func (s *htmlScanner) scriptByte(c byte, at int) bool {
	switch s.lt {
	case 0:
		switch c {
		case '<':
			s.lt = 1
			s.seqAt = at
			s.dashes = 0
		case '-':
			if s.esc > 0 {
				s.dashes++
			}
		case '>':
			if s.esc > 0 && s.dashes >= 2 {
				s.esc = 0
			}
			s.dashes = 0
		default:
			s.dashes = 0
		}
		return false
	case 1: // after '<'
		switch {
		case c == '/':
			s.lt, s.seqIdx = 2, 0
		case c == '!' && s.esc == 0:
			s.lt = 3
		case s.esc == 1 && lower(c) == scriptName[0]:
			s.lt, s.seqIdx = 5, 1
		default:
			s.lt = 0
			return s.scriptByte(c, at)
		}
	case 2, 5: // "</" or, when escaped, "<" followed by (part of) "script"
		if s.seqIdx < len(scriptName) {
			if lower(c) != scriptName[s.seqIdx] {
				s.lt = 0
				return s.scriptByte(c, at)
			}
			s.seqIdx++
			return false
		}
		closing := s.lt == 2
		s.lt = 0
		if !(isSpace(c) || c == '/' || c == '>') {
			return s.scriptByte(c, at)
		}
		switch {
		case !closing:
			s.esc = 2
		case s.esc == 2:
			s.esc = 1
		default:
			s.beginEndTag(scriptName)
			return true
		}
	case 3: // "<!"
		if c != '-' {
			s.lt = 0
			return s.scriptByte(c, at)
		}
		s.lt = 4
	case 4: // "<!-"
		s.lt = 0
		if c != '-' {
			return s.scriptByte(c, at)
		}
		s.esc, s.dashes = 1, 2
	}
	return false
}
