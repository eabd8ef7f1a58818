package harness

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Doc is a generated HTML page of an exact size: a real-looking head and
// page header, table rows repeated to fill, and a closing tail. It is
// written and checked from its parts, so a 1 GiB page never exists in
// memory.
type Doc struct {
	head  []byte // up to and including the first table rows
	block []byte // rows, repeated to fill
	tail  []byte
	size  int64
	// InsertAt is where an app that renders the user object itself puts
	// it: just before </head>.
	InsertAt int64
	// WriteSize is the size of each Write the handler makes.
	WriteSize int
	bufs      sync.Pool
}

const docHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orders · Acme Dashboard</title>
<link rel="preload" href="/static/fonts/inter-var.woff2" as="font" type="font/woff2" crossorigin>
<link rel="stylesheet" href="/static/app.4f9c2e.css">
<style>
:root{--fg:#1d2330;--muted:#6b7385;--accent:#3158e8;--bg:#f7f8fb}
body{margin:0;font:14px/1.45 Inter,system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;align-items:center;gap:16px;padding:12px 24px;background:#fff;border-bottom:1px solid #e3e6ee}
table.orders{width:100%;border-collapse:collapse}table.orders td{padding:6px 10px;border-bottom:1px solid #eceef4}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#e8f5ec;color:#1f7a3f;font-size:12px}
.num{text-align:right;font-variant-numeric:tabular-nums}
</style>
<script src="/static/app.81be0d.js" defer></script>
<script>window.__APP_CONFIG__={"release":"2026.11.3","features":["orders","exports","sso"],"locale":"en-GB"};</script>
</head>
<body class="page-orders">
<header class="top"><a class="logo" href="/">Acme</a><nav><a href="/orders" aria-current="page">Orders</a> <a href="/customers">Customers</a> <a href="/reports">Reports</a> <a href="/settings">Settings</a></nav><div class="account">Signed in · <a href="/logout">Log out</a></div></header>
<main>
<h1>Orders</h1>
<form class="filters" action="/orders" method="get"><input name="q" type="search" placeholder="Search orders…"> <select name="status"><option>All</option><option>Shipped</option><option>Pending</option></select> <button type="submit">Filter</button></form>
<table class="orders">
<thead><tr><th>Order</th><th>Date</th><th>Customer</th><th class="num">Total</th><th>Status</th></tr></thead>
<tbody>
`

const docTail = `</tbody>
</table>
<nav class="pager"><a href="/orders?page=1">Previous</a> <a href="/orders?page=3">Next</a></nav>
</main>
<footer><p>© 2026 Acme Inc. · <a href="/privacy">Privacy</a> · <a href="/terms">Terms</a></p></footer>
</body>
</html>
`

// blockSize is the period of the repeated rows.
const blockSize = 32 << 10

// NewDoc returns a page of exactly size bytes (at least its head and
// tail) that its ServeHTTP writes in writeSize writes.
func NewDoc(size int64, writeSize int) *Doc {
	var block bytes.Buffer
	names := []string{"Jane Doe", "Jiří Novák", "Ana Lucía Pérez", "王伟", "Oluwaseun Adeyemi", "Zoë Müller"}
	states := []string{"shipped", "pending", "refunded"}
	for i := 0; block.Len() < blockSize; i++ {
		fmt.Fprintf(&block, "<tr><td><a href=\"/orders/%d\">#%d</a></td><td>2026-11-%02d</td><td>%s</td><td class=\"num\">€%d.%02d</td><td><span class=\"badge\">%s</span></td></tr>\n",
			10234+i, 10234+i, 1+i%28, names[i%len(names)], 17+i*37%4000, i*13%100, states[i%len(states)])
	}
	min := int64(len(docHead) + len(docTail))
	if size < min {
		size = min
	}
	if writeSize <= 0 {
		writeSize = 32 << 10
	}
	d := &Doc{
		head:      []byte(docHead),
		block:     block.Bytes()[:blockSize],
		tail:      []byte(docTail),
		size:      size,
		InsertAt:  int64(strings.Index(docHead, "</head>")),
		WriteSize: writeSize,
	}
	d.bufs.New = func() any { b := make([]byte, writeSize); return &b }
	return d
}

// Size is the page's length in bytes.
func (d *Doc) Size() int64 { return d.size }

// ReadAt implements io.ReaderAt over the page.
func (d *Doc) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < d.size {
		part, at := d.part(off)
		c := copy(p[n:], part[at:])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// part returns the piece of the page that holds offset off, cut to end
// where that piece ends, and off's index in it.
func (d *Doc) part(off int64) ([]byte, int) {
	h, t := int64(len(d.head)), d.size-int64(len(d.tail))
	switch {
	case off < h:
		return d.head, int(off)
	case off < t:
		i := (off - h) % blockSize
		end := blockSize
		if rem := t - off; rem < int64(blockSize)-i {
			end = int(i + rem)
		}
		return d.block[:end], int(i)
	default:
		return d.tail, int(off - t)
	}
}

// Equal reports whether p is the page's content at offset off.
func (d *Doc) Equal(off int64, p []byte) bool {
	if off < 0 || off+int64(len(p)) > d.size {
		return false
	}
	for len(p) > 0 {
		part, at := d.part(off)
		c := min(len(p), len(part)-at)
		if !bytes.Equal(p[:c], part[at:at+c]) {
			return false
		}
		p = p[c:]
		off += int64(c)
	}
	return true
}

// Bytes returns the whole page; for small pages only.
func (d *Doc) Bytes() []byte {
	b := make([]byte, d.size)
	_, _ = d.ReadAt(b, 0)
	return b
}

// ServeHTTP writes the page as an HTML response, without a
// Content-Length, in WriteSize writes, and stops at the first failed
// write (a client that went away).
func (d *Doc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.Write(w, nil)
}

// Write writes the page to an HTML response with extra inserted at
// InsertAt, in WriteSize writes, until a write fails.
func (d *Doc) Write(w http.ResponseWriter, extra []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	bp := d.bufs.Get().(*[]byte)
	defer d.bufs.Put(bp)
	buf := *bp
	total := d.size + int64(len(extra))
	for off := int64(0); off < total; {
		n := d.fill(buf[:min(int64(len(buf)), total-off)], off, extra)
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		off += int64(n)
	}
}

// fill copies the page with extra inserted at InsertAt, from offset off.
func (d *Doc) fill(p []byte, off int64, extra []byte) int {
	n := 0
	for n < len(p) {
		switch at := off + int64(n); {
		case at < d.InsertAt:
			end := min(int64(len(p)-n), d.InsertAt-at)
			c, _ := d.ReadAt(p[n:n+int(end)], at)
			n += c
		case at < d.InsertAt+int64(len(extra)):
			n += copy(p[n:], extra[at-d.InsertAt:])
		default:
			c, _ := d.ReadAt(p[n:], at-int64(len(extra)))
			n += c
		}
	}
	return n
}
