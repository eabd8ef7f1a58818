package productfruits

import (
	"io"
	"sync"
)

// chunkSize is the size of the pooled chunks a page's held bytes are kept
// in.
const chunkSize = 16 << 10

// maxChunks bounds the chunks one response holds: lookAhead bytes in full
// chunks, and one more for a part chunk at either end.
const maxChunks = lookAhead/chunkSize + 2

type chunk = [chunkSize]byte

var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

// heldBytes is the part of a page the writer holds back while it looks
// for the insertion point: a queue of pooled chunks. Bytes are appended at
// the end and leave from the front, by writing them out or dropping them.
type heldBytes struct {
	chunks [maxChunks]*chunk
	k      int // chunks in use
	off    int // bytes of chunks[0] that have left already
	n      int // bytes held, from off on
}

// Len returns the number of bytes held.
func (h *heldBytes) Len() int { return h.n }

// Append holds p (copied) after the bytes held. The caller keeps the total
// within lookAhead plus prescanLen, which maxChunks has room for.
func (h *heldBytes) Append(p []byte) {
	for len(p) > 0 {
		end := h.off + h.n // offset of the next byte within the chunks
		i, at := end/chunkSize, end%chunkSize
		if i == h.k {
			h.chunks[h.k] = chunkPool.Get().(*chunk)
			h.k++
		}
		c := copy(h.chunks[i][at:], p)
		h.n += c
		p = p[c:]
	}
}

// Range calls fn with the held bytes from offset from up to offset to, in
// order, one contiguous piece per chunk, and stops at fn's first error.
func (h *heldBytes) Range(from, to int, fn func([]byte) error) error {
	from, to = from+h.off, min(to, h.n)+h.off
	for from < to {
		i, at := from/chunkSize, from%chunkSize
		piece := h.chunks[i][at:min(chunkSize, at+to-from)]
		if err := fn(piece); err != nil {
			return err
		}
		from += len(piece)
	}
	return nil
}

// WriteTo writes the held bytes from offset from up to offset to into w.
func (h *heldBytes) WriteTo(w io.Writer, from, to int) error {
	return h.Range(from, to, func(b []byte) error {
		_, err := w.Write(b)
		return err
	})
}

// Copy copies the held bytes from offset from on into dst, as many as fit,
// and returns how many it copied.
func (h *heldBytes) Copy(dst []byte, from int) int {
	n := 0
	_ = h.Range(from, from+len(dst), func(b []byte) error {
		n += copy(dst[n:], b)
		return nil
	})
	return n
}

// Drop lets the first n held bytes go, handing emptied chunks back.
func (h *heldBytes) Drop(n int) {
	n = min(n, h.n)
	h.n -= n
	h.off += n
	full := h.off / chunkSize
	if h.n == 0 {
		full = h.k // nothing left: every chunk goes back
	}
	for i := range full {
		chunkPool.Put(h.chunks[i])
	}
	h.k = copy(h.chunks[:], h.chunks[full:h.k])
	clear(h.chunks[h.k:])
	h.off -= full * chunkSize
	if h.n == 0 {
		h.off = 0
	}
}

// Reset drops everything held.
func (h *heldBytes) Reset() {
	if h.k > 0 {
		h.Drop(h.n)
	}
}
